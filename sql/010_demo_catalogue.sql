-- The radio continuum source catalogue, shaped like a source finder's output
-- (PyBDSF "srl" columns). Sites publish their own catalogues the same way: a table
-- with a HEALPix NESTED order-29 index column and a B-tree on it (ADQL spatial
-- predicates compile to range conditions on that column).
CREATE SCHEMA IF NOT EXISTS demo;

CREATE TABLE demo.sources (
  source_id          bigint PRIMARY KEY,
  island_id          bigint NOT NULL,
  field_id           text NOT NULL,
  ra                 double precision NOT NULL,
  ra_err             double precision,
  dec                double precision NOT NULL,
  dec_err            double precision,
  flux_peak          double precision,
  flux_peak_err      double precision,
  flux_int           double precision,
  flux_int_err       double precision,
  maj_axis           double precision,
  maj_axis_err       double precision,
  min_axis           double precision,
  min_axis_err       double precision,
  pos_angle          double precision,
  pos_angle_err      double precision,
  spectral_index     double precision,
  spectral_index_err double precision,
  ref_freq           double precision,
  s_code             char(1),
  -- data rights: NULL owner_group means public; otherwise hidden until release_date
  owner_group        text,
  release_date       timestamptz,
  healpix            bigint NOT NULL
);

-- Indexes are built after the bulk load (see src/ingest/catalogue.ts): building them
-- once over sorted data is several times faster than maintaining them row by row.

-- What the demo generator has produced, so a restart reuses it instead of regenerating.
CREATE TABLE vonode.demo_state (
  item       text PRIMARY KEY,
  detail     jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
