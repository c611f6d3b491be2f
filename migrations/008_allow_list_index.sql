-- The allow list is the allow rules: this partial index holds only them, in id order, so the
-- protection page's allow-list card pages through a few entries instead of scanning a million
-- block rules.
CREATE INDEX rules_allowed ON rules (action) WHERE action = 'allow';
