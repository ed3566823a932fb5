-- Indexes for the image services (src/sia, src/datalink, src/soda).
-- SIA's HEALPix prefilter widens each shape by the largest footprint radius, read as
-- max(s_fov) per query: an index makes that one probe instead of a scan.
CREATE INDEX IF NOT EXISTS obscore_s_fov ON ivoa.obscore (s_fov);
-- SIA ID compares IVOIDs case-insensitively (SIA-29).
CREATE INDEX IF NOT EXISTS obscore_did_lower ON ivoa.obscore (lower(obs_publisher_did));
