-- What the console and the portal need of people and firms.
-- The language a person chose for the console and the portal (en, fr); NULL
-- follows their firm's locale.
ALTER TABLE auth_users ADD COLUMN language TEXT;
-- The firm's brand colour (#rrggbb, dark enough for white text: WCAG AA 4.5:1),
-- used by the portal; NULL keeps Firmament's.
ALTER TABLE firm_firms ADD COLUMN brand_color TEXT;
