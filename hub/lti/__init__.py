"""LTI 1.3 Advantage: the hub as platform (`hub.lti.platform`) and as tool (`hub.lti.tool`).

Both roles sign with the tenant's keys in `hub.lti.keys`.
"""
