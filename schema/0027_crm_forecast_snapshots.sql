-- What the forecast said of the running month and quarter, kept once a day, so a
-- past period can be set against what it was expected to bring.
CREATE TABLE crm_forecast_snapshots (
  firm_id         TEXT NOT NULL REFERENCES firm_firms (id),
  period          TEXT NOT NULL,                  -- 2027-03 or 2027-Q1
  currency        TEXT NOT NULL,
  taken_on        TEXT NOT NULL,                  -- YYYY-MM-DD in the firm's zone
  won_minor       INTEGER NOT NULL,
  weighted_minor  INTEGER NOT NULL,
  commit_minor    INTEGER NOT NULL,
  best_case_minor INTEGER NOT NULL,
  PRIMARY KEY (firm_id, period, currency, taken_on)
) STRICT;
