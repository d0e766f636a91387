"""Everything on one machine: the process launcher and the loopback deployment the demo and the
end-to-end tests start.
"""
