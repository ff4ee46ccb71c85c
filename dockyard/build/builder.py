"""One build: the stages the target needs, in order, each step keyed in the cache, with Docker's
classic output stream ("Step 1/5 : ...", " ---> Using cache", " ---> Running in ...").
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any, Callable

from .. import errors
from ..images.reference import familiar, short_id
from . import dockerfile as dfmod
from . import metadata
from .cache import step_key
from .context import BuildContext
from .dockerfile import Dockerfile, Instruction, Stage
from .metadata import StepError
from .options import BuildOptions
from .shell import expand
from .state import PROXY_ARGS, StageState, run_config
from .steps import Steps

log = logging.getLogger("dockyard.build")
Emit = Callable[[dict[str, Any]], None]
_NOP = "#(nop) "


def needed_stages(df: Dockerfile, target: int, meta_env: list[str]) -> list[int]:
    """The target and the stages it depends on (FROM <stage>, COPY --from=<stage>), in file order."""
    want = {target}
    for i in range(target, -1, -1):
        if i not in want:
            continue
        s = df.stages[i]
        refs = [expand(s.base, meta_env, df.escape)]
        refs += [inst.flag("from") or "" for inst in s.instructions if inst.name == "COPY"]
        for ref in refs:
            j = df.stage_index(ref) if ref else None
            if j is None and ref.isdigit() and int(ref) < i:
                j = int(ref)
            if j is not None and j < i:
                want.add(j)
    return sorted(want)


class Build:
    def __init__(self, steps: Steps, opts: BuildOptions, ctx: BuildContext, df: Dockerfile,
                 target: int, emit: Emit) -> None:
        self.steps = steps
        self.opts = opts
        self.ctx = ctx
        self.df = df
        self.target = target
        self._emit = emit
        self.quiet_buffer: list[dict[str, Any]] = []
        self.stage_images: dict[int, str | None] = {}
        self.step = 0
        self.used_args: set[str] = set()
        self.meta = self._meta_args()
        meta_env = [f"{k}={v}" for k, v in self.meta.items() if v is not None]
        self.order = needed_stages(df, target, meta_env)
        self.total = sum(1 + len(df.stages[i].instructions) for i in self.order)
        if opts.labels and self.order[-1] == len(df.stages) - 1:
            self.total += 1  # the LABEL line --label adds

    # -- output ------------------------------------------------------------------------------
    def emit(self, msg: dict[str, Any]) -> None:
        if self.opts.quiet and "aux" not in msg:
            self.quiet_buffer.append(msg)
        else:
            self._emit(msg)

    def say(self, text: str) -> None:
        self.emit({"stream": text})

    def _print_step(self, inst: Instruction) -> None:
        self.step += 1
        self.say(f"Step {self.step}/{self.total} : {inst.original}")
        self.say("\n")

    # -- the build ----------------------------------------------------------------------------
    def _meta_args(self) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for inst in self.df.meta_args:
            key, eq, default = inst.args[0].partition("=")
            env = [f"{k}={v}" for k, v in values.items() if v is not None]
            if key in self.opts.build_args:
                values[key] = self.opts.build_args[key]
            else:
                values[key] = expand(default, env, self.df.escape) if eq else None
            self.used_args.add(key)
        return values

    async def run(self) -> str:
        try:
            return await self._run()
        except BaseException:
            if self.opts.quiet:  # a quiet build that fails shows what it had held back
                for msg in self.quiet_buffer:
                    self._emit(msg)
            raise

    async def _run(self) -> str:
        image_id: str | None = None
        for i in self.order:
            image_id = await self._stage(self.df.stages[i])
            self.stage_images[i] = image_id
            if image_id:
                self.emit({"aux": {"ID": image_id}})
        if not image_id:
            raise StepError("No image was generated. Is your Dockerfile empty?")
        unused = sorted(k for k in self.opts.build_args if k not in self.used_args and k not in PROXY_ARGS)
        if unused:
            self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        self.say(f"Successfully built {short_id(image_id)}\n")
        for ref in self.opts.tags:
            await self.steps.tag(image_id, ref)
            self.say(f"Successfully tagged {familiar(str(ref))}\n")
        if self.opts.quiet:
            self._emit({"stream": image_id + "\n"})
        return image_id

    async def _stage(self, stage: Stage) -> str | None:
        self._print_step(stage.source)
        state = await self._from(stage)
        self.say(f" ---> {short_id(state.image_id) if state.image_id else ''}\n")
        instructions = list(stage.instructions)
        if stage.index == len(self.df.stages) - 1 and self.opts.labels:
            instructions.append(self._label_instruction())
        for inst in instructions:
            self._print_step(inst)
            await self._dispatch(state, inst)
            self.say(f" ---> {short_id(state.image_id) if state.image_id else ''}\n")
        return state.image_id

    def _label_instruction(self) -> Instruction:
        """`--label`s become a last LABEL line of the Dockerfile's last stage, as Docker does."""
        text = "LABEL " + " ".join(f"{json.dumps(k)}='{v}'" for k, v in sorted(self.opts.labels.items()))
        return Instruction("LABEL", [w for k, v in sorted(self.opts.labels.items()) for w in (json.dumps(k), f"'{v}'")],
                           False, text, 0)

    async def _from(self, stage: Stage) -> StageState:
        meta_env = [f"{k}={v}" for k, v in self.meta.items() if v is not None]
        base = expand(stage.base, meta_env, self.df.escape)
        idx = self.df.stage_index(base)
        if idx is not None and idx < stage.index:
            image_id = self.stage_images.get(idx)
        elif base.lower() == "scratch":
            image_id = None
        else:
            image_id = await self.steps.base_image(base, self.opts, self.emit)
        image_cfg = await self.steps.image_config(image_id) if image_id else {}
        state = StageState(stage, image_id, run_config(image_cfg), self.opts.build_args,
                           self.meta, escape=self.df.escape)
        triggers = list(state.config.get("OnBuild") or [])
        if triggers:
            state.config["OnBuild"] = None
            self.say(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            for text in triggers:
                try:
                    inst = dfmod.parse(f"FROM scratch\n{text}\n").stages[0].instructions[0]
                except dfmod.DockerfileError as e:
                    raise StepError(str(e)) from None
                await self._dispatch(state, inst)
        return state

    async def _dispatch(self, state: StageState, inst: Instruction) -> None:
        if inst.name == "ARG":
            self.used_args.add(inst.args[0].partition("=")[0])
        if inst.name == "RUN":
            await self._run_step(state, inst)
        elif inst.name in ("COPY", "ADD"):
            await self._copy(state, inst)
        else:
            comment = metadata.dispatch(state, inst)
            await self._commit(state, comment, workdir=inst.name == "WORKDIR")

    def _child_config(self, state: StageState) -> dict[str, Any]:
        cfg = copy.deepcopy(state.config)
        cfg["Image"] = state.image_id or ""
        return cfg

    def _nop(self, state: StageState, comment: str) -> list[str]:
        return [*state.shell, _NOP, comment]

    async def _cached(self, state: StageState, key: str, cfg: dict[str, Any], cc: dict[str, Any]) -> bool:
        if self.opts.no_cache:
            return False
        hit = await self.steps.lookup(key, state.image_id, " ".join(cc["Cmd"]), cfg, cc,
                                      self.opts.cache_from)
        if hit is None:
            return False
        self.say(" ---> Using cache\n")
        state.image_id = hit
        return True

    async def _commit(self, state: StageState, comment: str, workdir: bool = False) -> None:
        cfg = self._child_config(state)
        key = step_key(state.image_id, "nop", comment, cfg, state.author)
        cc = {**cfg, "Cmd": self._nop(state, comment)}
        if await self._cached(state, key, cfg, cc):
            return
        state.image_id = await self.steps.commit_config(
            state.image_id, cfg, cc, " ".join(cc["Cmd"]), key, comment, state.author,
            mkdir=cfg["WorkingDir"] if workdir else None)

    async def _copy(self, state: StageState, inst: Instruction) -> None:
        src_root_of = await self._copy_source(inst)
        async with src_root_of as (root, from_context):
            comment, plan = await self.steps.plan_copy(state, inst, root, from_context)
            cfg = self._child_config(state)
            key = step_key(state.image_id, inst.name, comment, inst.flag("chmod") or "", cfg)
            cc = {**cfg, "Cmd": self._nop(state, comment)}
            if await self._cached(state, key, cfg, cc):
                return
            state.image_id = await self.steps.commit_copy(state, cfg, cc, " ".join(cc["Cmd"]), key, comment, plan)

    async def _copy_source(self, inst: Instruction) -> Any:
        source = inst.flag("from") if inst.name == "COPY" else None
        if not source:
            return self.steps.context_root(self.ctx)
        idx = self.df.stage_index(source)
        if idx is None and source.isdigit():
            idx = int(source)
            if idx >= len(self.df.stages):
                raise StepError(f"invalid from flag value {source}: refers to current or future build stage")
        if idx is not None:
            if idx not in self.stage_images:
                raise StepError(f"invalid from flag value {source}: refers to current or future build stage")
            return self.steps.image_root(self.stage_images[idx])
        image_id = await self.steps.base_image(source, self.opts, self.emit)
        return self.steps.image_root(image_id)

    async def _run_step(self, state: StageState, inst: Instruction) -> None:
        if inst.flags:
            raise StepError(f"the --{next(iter(inst.flags))} option requires BuildKit")
        if inst.heredocs:
            argv = [*state.shell, inst.heredocs[0][1]] if inst.args[:1] == [f"<<{inst.heredocs[0][0]}"] or \
                inst.args[:1] == [f"<<-{inst.heredocs[0][0]}"] else None
            if argv is None:
                raise StepError("heredocs other than a whole RUN script require BuildKit")
        else:
            argv = metadata.command_form(state, inst)
        run_args = state.run_args()
        visible = {k: v for k, v in run_args.items() if k in state.args}
        save_cmd = argv
        if visible:
            save_cmd = [f"|{len(visible)}", *sorted(f"{k}={v}" for k, v in visible.items()), *argv]
        cfg = self._child_config(state)
        key = step_key(state.image_id, "RUN", save_cmd, cfg)
        cc = {**cfg, "Cmd": save_cmd}
        if await self._cached(state, key, cfg, cc):
            return
        if state.image_id is None:
            raise StepError("Please provide a source image with `from` prior to run")
        env = list(state.config.get("Env") or []) + [f"{k}={v}" for k, v in sorted(run_args.items())]
        state.image_id = await self.steps.commit_run(
            state, cfg, cc, " ".join(save_cmd), key, argv, env, self.opts, self.say)
