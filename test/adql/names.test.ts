// Names in ADQL as the standard defines them, run against real tables so each answer shows
// which table or column was read. ADQL 2.1 §2.1.3 (digest ADQL-3, ADQL-4): a regular
// identifier is case-insensitive and reaches a declared name only when that name is regular
// or, delimited, equal to it in lower case; a delimited identifier matches exactly. TAP 1.1
// lets TAP_SCHEMA declare names delimited (`"Obs"`, `"magV"`). Plus the default schema and
// GROUP BY a primary key (issue 15 items 1-3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdqlError, type Catalogue, type CatalogueTable, compile } from '../../adql/index.js';
import { testPool } from '../support/db.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let tables: CatalogueTable[];

/** A published table: ADQL name (quoted when declared delimited) over a physical table. */
function table(
  schema: string,
  name: string,
  physical: string,
  columns: Array<[adql: string, sql: string]>,
  primaryKey?: string[],
): CatalogueTable {
  return {
    schema,
    name,
    sql: { schema: pool.schema, table: physical },
    columns: columns.map(([n, sqlName]) => ({ name: n, datatype: 'int', sqlName })),
    ...(primaryKey ? { primaryKey } : {}),
  };
}

function catalogue(defaultSchema?: string): Catalogue {
  return defaultSchema === undefined ? { tables: () => tables } : { tables: () => tables, defaultSchema };
}

/** Compiles with the catalogue and runs the SQL: the rows PostgreSQL returns. */
async function rows(adql: string, cat: Catalogue = catalogue()): Promise<Record<string, unknown>[]> {
  const out = compile(adql, cat);
  const res = await pool.query({ text: out.sql, values: out.params as unknown[] });
  return res.rows;
}

function refusal(adql: string, cat: Catalogue = catalogue()): AdqlError {
  try {
    compile(adql, cat);
  } catch (e) {
    if (e instanceof AdqlError) return e;
    throw e;
  }
  throw new Error(`compiled, but should have been refused: ${adql}`);
}

beforeAll(async () => {
  pool = await testPool();
  const s = `"${pool.schema}"`;
  for (const sql of [
    `CREATE TABLE ${s}.obs_regular (id int, magv int)`,
    `INSERT INTO ${s}.obs_regular VALUES (1, 10)`,
    `CREATE TABLE ${s}.obs_delimited (id int, mag_v int)`,
    `INSERT INTO ${s}.obs_delimited VALUES (2, 20)`,
    `CREATE TABLE ${s}.names (id int, id_mixed int, with_space int, quote int)`,
    `INSERT INTO ${s}.names VALUES (1, 2, 3, 4)`,
    `CREATE TABLE ${s}.lefty (id int, id_mixed int, v int)`,
    `INSERT INTO ${s}.lefty VALUES (1, 5, 100), (2, 6, 200)`,
    `CREATE TABLE ${s}.righty (id int, id_mixed int, w int)`,
    `INSERT INTO ${s}.righty VALUES (1, 5, 1000), (2, 7, 2000)`,
    `CREATE TABLE ${s}.src_a (id int PRIMARY KEY, part int, origin int)`,
    `INSERT INTO ${s}.src_a VALUES (1, 1, 1), (2, 1, 1)`,
    `CREATE TABLE ${s}.src_b (id int, part int, origin int, PRIMARY KEY (id, part))`,
    `INSERT INTO ${s}.src_b VALUES (1, 1, 2), (1, 2, 2)`,
    `CREATE TABLE ${s}.src_c (id int, part int, origin int)`,
    `INSERT INTO ${s}.src_c VALUES (1, 1, 3)`,
  ])
    await pool.query(sql);
  tables = [
    table('demo', 'obs', 'obs_regular', [
      ['id', 'id'],
      ['magv', 'magv'],
    ]),
    table('demo', '"Obs"', 'obs_delimited', [
      ['id', 'id'],
      ['"magV"', 'mag_v'],
    ]),
    table('demo', 't', 'names', [
      ['id', 'id'],
      ['"Id"', 'id_mixed'],
      ['"with space"', 'with_space'],
      ['"quo""te"', 'quote'],
    ]),
    table('demo', 'l', 'lefty', [
      ['id', 'id'],
      ['"Id"', 'id_mixed'],
      ['v', 'v'],
    ]),
    // Declared `ID` (regular): the same name as `id` (§2.1.3).
    table('demo', 'r', 'righty', [
      ['ID', 'id'],
      ['"Id"', 'id_mixed'],
      ['w', 'w'],
    ]),
    // The same table name in three schemas, with primary keys as PostgreSQL has them.
    table(
      'a',
      'sources',
      'src_a',
      [
        ['id', 'id'],
        ['part', 'part'],
        ['origin', 'origin'],
      ],
      ['id'],
    ),
    table(
      'b',
      'sources',
      'src_b',
      [
        ['id', 'id'],
        ['part', 'part'],
        ['origin', 'origin'],
      ],
      ['id', 'part'],
    ),
    table('c', 'sources', 'src_c', [
      ['id', 'id'],
      ['part', 'part'],
      ['origin', 'origin'],
    ]),
  ];
});

afterAll(async () => {
  await pool?.close();
});

describe('ADQL 2.1 §2.1.3: regular and delimited table names (ADQL-3, ADQL-4)', () => {
  it('`obs` reads the table declared obs, `"Obs"` the one declared "Obs"; neither is ambiguous', async () => {
    expect(await rows('SELECT id FROM obs')).toEqual([{ id: 1 }]);
    expect(await rows('SELECT id FROM OBS')).toEqual([{ id: 1 }]);
    expect(await rows('SELECT id FROM "Obs"')).toEqual([{ id: 2 }]);
    expect(await rows('SELECT id FROM demo."Obs"')).toEqual([{ id: 2 }]);
    expect(await rows('SELECT id FROM "obs"')).toEqual([{ id: 1 }]);
  });

  it('`"OBS"` names neither table', () => {
    expect(refusal('SELECT id FROM "OBS"').message).toMatch(/no table 'OBS'/);
  });

  it('both tables in one FROM are two tables, not a name used twice', async () => {
    expect(await rows('SELECT obs.id AS a, "Obs".id AS b FROM obs, "Obs"')).toEqual([{ a: 1, b: 2 }]);
  });
});

describe('ADQL 2.1 §2.1.3: columns (ADQL-3, ADQL-4, ADQL-55)', () => {
  it('`magv` does not read the column declared "magV", and the message spells the delimited name', () => {
    const e = refusal('SELECT magv FROM "Obs"');
    expect(e.message).toMatch(/no column 'magv'/);
    expect(e.suggestion).toBe('\'"magV"\'');
  });

  it('"magV" reads it; MAGV and magv read the regular magv of obs', async () => {
    expect(await rows('SELECT "magV" FROM "Obs"')).toEqual([{ magV: 20 }]);
    expect(await rows('SELECT MAGV FROM obs')).toEqual([{ magv: 10 }]);
  });

  it('delimited names with spaces and doubled quotes', async () => {
    const out = compile('SELECT "with space", "quo""te", "Id", id FROM demo.t', catalogue());
    expect(out.columns.map((c) => c.name)).toEqual(['with space', 'quo"te', 'Id', 'id_2']);
    expect(await rows('SELECT "with space" AS a, "quo""te" AS b, "Id" AS c, ID AS d FROM demo.t')).toEqual([
      { a: 3, b: 4, c: 2, d: 1 },
    ]);
    expect(refusal('SELECT "quo"te" FROM demo.t')).toBeInstanceOf(AdqlError);
    expect(refusal('SELECT "With Space" FROM demo.t').message).toMatch(/no column 'With Space'/);
  });
});

describe('ADQL 2.1 §2.1.3: correlation names and self-joins (ADQL-10)', () => {
  it('`SELECT s.id FROM t AS S`: an unquoted correlation name folds like any regular identifier', async () => {
    expect(await rows('SELECT s.id FROM demo.t AS S')).toEqual([{ id: 1 }]);
    expect(await rows('SELECT S.id FROM demo.t AS s')).toEqual([{ id: 1 }]);
  });

  it('"s" and "S" are different names', async () => {
    expect(await rows('SELECT "S".id FROM demo.t AS "S"')).toEqual([{ id: 1 }]);
    expect(refusal('SELECT "s".id FROM demo.t AS "S"').message).toMatch(/no table or correlation name '"s"'/);
    expect(refusal('SELECT s.id FROM demo.t AS "S"').message).toMatch(/no table or correlation name 's'/);
  });

  it('self-joins: x and X are one name, "x" and "X" two', async () => {
    expect(await rows('SELECT a.id AS a, b.id AS b FROM obs AS a JOIN obs AS b ON a.id = b.id')).toEqual([
      { a: 1, b: 1 },
    ]);
    expect(refusal('SELECT x.id FROM obs AS x, obs AS X').message).toMatch(/used twice in FROM/);
    expect(refusal('SELECT obs.id FROM obs, OBS').message).toMatch(/used twice in FROM/);
    expect(await rows('SELECT "x".id AS a, "X".magv AS b FROM obs AS "x", obs AS "X"')).toEqual([
      { a: 1, b: 10 },
    ]);
  });

  it('aliases of derived tables and select items keep their form', async () => {
    // The result column keeps the alias as written.
    expect(await rows('SELECT q.Mag FROM (SELECT magv AS MAG FROM obs) AS Q')).toEqual([{ MAG: 10 }]);
    expect(await rows('SELECT "Mag" FROM (SELECT magv AS "Mag" FROM obs) AS q')).toEqual([{ Mag: 10 }]);
    expect(refusal('SELECT mag FROM (SELECT magv AS "Mag" FROM obs) AS q').message).toMatch(
      /no column 'mag'/,
    );
    // A delimited catalogue name stays delimited through a derived table.
    expect(refusal('SELECT magv FROM (SELECT * FROM "Obs") AS q').message).toMatch(/no column 'magv'/);
    expect(await rows('SELECT "magV" FROM (SELECT * FROM "Obs") AS q')).toEqual([{ magV: 20 }]);
  });
});

describe('WITH names (ADQL 2.1 §4.1 common table expressions, ADQL-46, §2.1.3)', () => {
  it('a regular WITH name folds; it shadows a published table of the same name', async () => {
    expect(await rows('WITH Recent AS (SELECT id FROM "Obs") SELECT recent.id FROM RECENT')).toEqual([
      { id: 2 },
    ]);
    expect(await rows('WITH obs AS (SELECT id FROM "Obs") SELECT id FROM obs')).toEqual([{ id: 2 }]);
  });

  it('a delimited WITH name matches exactly', async () => {
    expect(refusal('WITH "Recent" AS (SELECT id FROM obs) SELECT id FROM recent').message).toMatch(
      /no table 'recent'/,
    );
    expect(await rows('WITH "Recent" AS (SELECT id FROM obs) SELECT id FROM "Recent"')).toEqual([{ id: 1 }]);
  });

  it('r and R are one WITH name, "r" and "R" two', async () => {
    expect(
      refusal('WITH r AS (SELECT id FROM obs), R AS (SELECT id FROM obs) SELECT id FROM r').message,
    ).toMatch(/defined twice/);
    expect(
      await rows('WITH "r" AS (SELECT id FROM obs), "R" AS (SELECT id FROM "Obs") SELECT "R".id FROM "R"'),
    ).toEqual([{ id: 2 }]);
  });
});

describe('NATURAL JOIN and USING across case variants (ADQL-58, §2.1.3)', () => {
  it('NATURAL pairs id with ID and "Id" with "Id"; each joined column appears once', async () => {
    // Result names are made unique ignoring case (as VOTable readers compare them): "Id" -> Id_2.
    const out = compile('SELECT * FROM demo.l NATURAL JOIN demo.r', catalogue());
    expect(out.columns.map((c) => c.name)).toEqual(['id', 'Id_2', 'v', 'w']);
    expect(await rows('SELECT * FROM demo.l NATURAL JOIN demo.r')).toEqual([
      { id: 1, Id_2: 5, v: 100, w: 1000 },
    ]);
  });

  it('USING (id) and USING (ID) both name id of l and ID of r', async () => {
    const expected = [
      { id: 1, v: 100, w: 1000 },
      { id: 2, v: 200, w: 2000 },
    ];
    expect(await rows('SELECT id, v, w FROM demo.l JOIN demo.r USING (id) ORDER BY id')).toEqual(expected);
    expect(await rows('SELECT ID, v, w FROM demo.l JOIN demo.r USING (ID) ORDER BY 1')).toEqual(expected);
  });

  it('USING ("Id") joins the delimited columns; USING ("ID") finds no such column on the left', async () => {
    expect(await rows('SELECT "Id", v, w FROM demo.l JOIN demo.r USING ("Id")')).toEqual([
      { Id: 5, v: 100, w: 1000 },
    ]);
    expect(refusal('SELECT * FROM demo.l JOIN demo.r USING ("ID")').message).toMatch(
      /no column 'ID' on the left side/,
    );
    expect(refusal('SELECT * FROM demo.l JOIN obs USING (magV)').message).toMatch(
      /no column 'magV' on the left side/,
    );
  });
});

describe('default schema (issue 15 item 2: Catalogue.defaultSchema)', () => {
  it('without one, a name in three schemas is ambiguous and the message lists the qualified candidates', () => {
    const e = refusal('SELECT origin FROM sources');
    expect(e.message).toMatch(/ambiguous: a\.sources, b\.sources, c\.sources/);
  });

  it('with one, the unqualified name is the default schema table', async () => {
    expect(await rows('SELECT DISTINCT origin FROM sources', catalogue('b'))).toEqual([{ origin: 2 }]);
    expect(await rows('SELECT DISTINCT origin FROM SOURCES', catalogue('c'))).toEqual([{ origin: 3 }]);
  });

  it('a qualified name ignores it; a name found only elsewhere is still that one table', async () => {
    expect(await rows('SELECT DISTINCT origin FROM a.sources', catalogue('b'))).toEqual([{ origin: 1 }]);
    expect(await rows('SELECT id FROM obs', catalogue('b'))).toEqual([{ id: 1 }]);
  });

  it('a default schema without that name leaves it ambiguous', () => {
    expect(refusal('SELECT origin FROM sources', catalogue('demo')).message).toMatch(
      /ambiguous: a\.sources, b\.sources, c\.sources/,
    );
  });

  it('a WITH name still comes first', async () => {
    expect(
      await rows('WITH sources AS (SELECT 7 AS origin FROM obs) SELECT origin FROM sources', catalogue('a')),
    ).toEqual([{ origin: 7 }]);
  });
});

describe('GROUP BY a primary key (issue 15 item 3: CatalogueTable.primaryKey)', () => {
  it('SELECT * ... GROUP BY pk: the other columns depend on the key, as PostgreSQL allows', async () => {
    expect(await rows('SELECT * FROM a.sources GROUP BY id ORDER BY id')).toEqual([
      { id: 1, part: 1, origin: 1 },
      { id: 2, part: 1, origin: 1 },
    ]);
    expect(
      await rows(
        'SELECT origin, COUNT(*) AS n FROM a.sources AS s GROUP BY s.id HAVING part = 1 ORDER BY s.id',
      ),
    ).toEqual([
      { origin: 1, n: '1' },
      { origin: 1, n: '1' },
    ]);
  });

  it('a composite key must be grouped whole', async () => {
    expect(await rows('SELECT * FROM b.sources GROUP BY id, part ORDER BY part')).toEqual([
      { id: 1, part: 1, origin: 2 },
      { id: 1, part: 2, origin: 2 },
    ]);
    expect(refusal('SELECT * FROM b.sources GROUP BY id').message).toMatch(/'part' must appear in GROUP BY/);
  });

  it('a table without a declared key still needs every column grouped', () => {
    expect(refusal('SELECT * FROM c.sources GROUP BY id').message).toMatch(/must appear in GROUP BY/);
    expect(refusal('SELECT origin FROM c.sources GROUP BY id').message).toMatch(
      /'origin' must appear in GROUP BY/,
    );
  });

  it('the key of one table does not cover the columns of another', () => {
    expect(
      refusal(
        'SELECT x.origin, y.origin FROM a.sources AS x JOIN c.sources AS y ON x.id = y.id GROUP BY x.id',
      ).message,
    ).toMatch(/'y\.origin' must appear in GROUP BY/);
  });
});
