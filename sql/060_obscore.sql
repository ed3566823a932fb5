-- ivoa.obscore (ObsCore 1.1): one row per data product. Every mandatory column
-- (OBS-10..OBS-39) plus the optional set recommended for an SKA node (OBS-48g).
-- s_region is a DALI polygon (OBS-61): double precision[] lon1,lat1,... in ICRS deg.
CREATE SCHEMA IF NOT EXISTS ivoa;

CREATE TABLE ivoa.obscore (
  dataproduct_type    text,
  dataproduct_subtype text,
  calib_level         integer NOT NULL CHECK (calib_level BETWEEN 0 AND 4),
  obs_collection      text NOT NULL,
  obs_id              text NOT NULL,
  obs_title           text,
  obs_publisher_did   text NOT NULL UNIQUE,
  obs_creator_did     text,
  obs_creation_date   timestamptz,
  access_url          text,
  access_format       text,
  access_estsize      bigint,
  target_name         text,
  s_ra                double precision,
  s_dec               double precision,
  s_fov               double precision,
  s_region            double precision[],
  s_resolution        double precision,
  s_xel1              bigint,
  s_xel2              bigint,
  s_pixel_scale       double precision,
  t_min               double precision,
  t_max               double precision,
  t_exptime           double precision,
  t_resolution        double precision,
  t_xel               bigint,
  em_min              double precision,
  em_max              double precision,
  em_res_power        double precision,
  em_xel              bigint,
  em_ucd              text,
  em_unit             text,
  o_ucd               text,
  o_unit              text,
  pol_states          text,
  pol_xel             bigint,
  facility_name       text,
  instrument_name     text,
  proposal_id         text,
  data_rights         text,
  obs_release_date    timestamptz,
  -- not published: who may read it before obs_release_date, where the file is, and
  -- the HEALPix index of the footprint centre (order 29) for the spatial index
  owner_group         text,
  file_path           text,
  file_size           bigint,
  file_sha256         text,
  healpix             bigint
);

CREATE INDEX obscore_healpix ON ivoa.obscore (healpix);
CREATE INDEX obscore_collection ON ivoa.obscore (obs_collection);
CREATE INDEX obscore_em ON ivoa.obscore (em_min, em_max);
CREATE INDEX obscore_t ON ivoa.obscore (t_min, t_max);
CREATE UNIQUE INDEX obscore_file ON ivoa.obscore (file_path);

-- Copies of a product at SRC storage sites (DataLink lists each, the local one first).
CREATE TABLE ivoa.obscore_replicas (
  obs_publisher_did text NOT NULL REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE,
  site              text NOT NULL,
  url               text NOT NULL,
  is_local          boolean NOT NULL DEFAULT false,
  PRIMARY KEY (obs_publisher_did, site)
);
