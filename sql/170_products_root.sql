-- Products stored relative to the products root (issue 17). A file under the node's products
-- root (VONODE_PRODUCTS_ROOT, default its data folder), which every node connection carries
-- as the setting vonode.products_root (src/node.ts), is recorded by its path below that root;
-- a file elsewhere keeps its absolute path. A site that moves its archive, or mounts it at
-- another place on another machine, changes the setting: no product is ingested again. A
-- Rucio product's key (rucio:scope:name) is not a path and is left as it is.

-- The stored form of a file's absolute path, as the reading connection's root gives it.
CREATE OR REPLACE FUNCTION ivoa.product_key(path text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN path IS NULL OR coalesce(current_setting('vonode.products_root', true), '') = '' THEN path
      WHEN starts_with(path, rtrim(current_setting('vonode.products_root', true), '/') || '/')
        THEN substr(path, length(rtrim(current_setting('vonode.products_root', true), '/')) + 2)
      ELSE path
    END
  $$;

-- The absolute path of a stored one: relative paths below the connection's root; absolute
-- paths, Rucio keys, and everything read by a connection without a root, unchanged.
CREATE OR REPLACE FUNCTION ivoa.product_file(stored text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN stored IS NULL OR starts_with(stored, '/') OR stored ~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN stored
      WHEN coalesce(current_setting('vonode.products_root', true), '') = '' THEN stored
      ELSE rtrim(current_setting('vonode.products_root', true), '/') || '/' || stored
    END
  $$;

GRANT EXECUTE ON FUNCTION ivoa.product_key(text) TO vonode_reader;
GRANT EXECUTE ON FUNCTION ivoa.product_file(text) TO vonode_reader;
