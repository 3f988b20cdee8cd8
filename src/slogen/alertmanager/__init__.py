"""The Alertmanager side of slogen's Prometheus alerts: a configuration fragment.

slogen's alerts carry ``severity``, ``service``, ``slo``, ``tier`` (and ``team`` and the spec's
routing labels); :mod:`.fragment` computes the routing subtree, inhibition rule and receiver
names that deliver them, :mod:`.text` writes that as ``alertmanager/alertmanager.yml`` (what
``slogen build`` writes whenever an SLO has a Prometheus source), and :mod:`.settings` reads the
``alertmanager:`` block of ``slogen.yaml`` that shapes it.

Decisions:

- **A complete configuration, meant to be merged.** The file is a whole Alertmanager
  configuration that ``amtool check-config`` accepts: a root route (Alertmanager requires one, and
  it may have no matchers), under it slogen's subtree, the inhibition rule and one ``receivers``
  entry per receiver name, with no integration (placeholders). Take ``route.routes[0]`` into your
  routing tree and ``inhibit_rules`` into yours; receivers are defined in your configuration.
- **Which alerts.** No label has one constant value on every slogen alert (there is no
  ``managed-by`` label on alerts; the ownership marker is on the rule files), so the subtree and
  both sides of the inhibition rule select ``slo=~".+"`` and ``tier=~".+"``: every alert slogen
  generates has both, an alert written by hand rarely has them. Restricting the inhibition rule
  matters: Alertmanager treats a label missing on both alerts as equal, so ``equal: [service,
  slo]`` alone would let any ``severity="page"`` alert without those labels inhibit every ticket
  without them.
- **Without an ``alertmanager:`` block** the fragment is still written, with one receiver per
  severity named ``slogen-<severity>`` (``slogen-page``, ``slogen-ticket``). The same default
  applies to no severity once ``receivers`` is given: then every severity a policy uses must be
  named, so that no severity silently routes to a placeholder.
- **Order of routes.** The configured ``routes`` first, in the order written (Alertmanager stops at
  the first matching child), then one route per severity. The subtree's own receiver is the first
  severity's (a page) and only catches an alert no child matches.
- **Inhibition** (``inhibit_tickets``, default true): while a ``page`` of a service's SLO fires, its
  ``ticket`` is held back; one incident, one notification, and the page already covers it.
"""
