"""Container networking: drivers, IPAM, published ports (nftables + userland proxy), embedded DNS."""
