import type { Position } from './errors.js';

/** An identifier as written: delimited ones keep case and match exactly (ADQL-3, ADQL-4). */
export interface Identifier {
  readonly name: string;
  readonly delimited: boolean;
  readonly pos: Position;
}

export type Expr =
  | { kind: 'number'; pos: Position; text: string; value: number; integer: boolean }
  | { kind: 'string'; pos: Position; value: string }
  | { kind: 'null'; pos: Position }
  | { kind: 'column'; pos: Position; parts: Identifier[] }
  | { kind: 'unary'; pos: Position; op: '+' | '-'; arg: Expr }
  | { kind: 'binary'; pos: Position; op: '+' | '-' | '*' | '/' | '||'; left: Expr; right: Expr }
  | { kind: 'call'; pos: Position; name: string; args: Expr[]; coordsys?: string }
  | { kind: 'aggregate'; pos: Position; name: string; quantifier?: 'DISTINCT' | 'ALL'; arg?: Expr }
  | { kind: 'udf'; pos: Position; name: Identifier; args: Expr[] }
  | { kind: 'cast'; pos: Position; arg: Expr; target: CastTarget }
  | {
      kind: 'case';
      pos: Position;
      operand?: Expr;
      whens: { when: Condition | Expr; result: Expr }[];
      otherwise?: Expr;
    }
  | { kind: 'scalar'; pos: Position; query: QueryExpression }
  | { kind: 'paren'; pos: Position; arg: Expr };

export interface CastTarget {
  readonly type:
    | 'CHAR'
    | 'VARCHAR'
    | 'SMALLINT'
    | 'INTEGER'
    | 'BIGINT'
    | 'REAL'
    | 'DOUBLE PRECISION'
    | 'TIMESTAMP'
    | 'POINT'
    | 'CIRCLE'
    | 'POLYGON';
  readonly length?: number;
}

export type CompOp = '=' | '<>' | '!=' | '<' | '>' | '<=' | '>=';

export type Condition =
  | { kind: 'compare'; pos: Position; op: CompOp; left: Expr; right: Expr }
  | { kind: 'between'; pos: Position; not: boolean; arg: Expr; low: Expr; high: Expr }
  | { kind: 'in'; pos: Position; not: boolean; arg: Expr; list?: Expr[]; query?: QueryExpression }
  | { kind: 'like'; pos: Position; not: boolean; insensitive: boolean; arg: Expr; pattern: Expr }
  | { kind: 'isnull'; pos: Position; not: boolean; arg: Expr }
  | { kind: 'exists'; pos: Position; query: QueryExpression }
  | { kind: 'and' | 'or'; pos: Position; left: Condition; right: Condition }
  | { kind: 'not'; pos: Position; arg: Condition }
  | { kind: 'group'; pos: Position; arg: Condition };

export type SelectItem =
  | { kind: 'expr'; pos: Position; expr: Expr; alias?: Identifier }
  | { kind: 'all'; pos: Position; qualifier?: Identifier[] };

export type TableRef =
  | { kind: 'table'; pos: Position; name: Identifier[]; alias?: Identifier }
  | { kind: 'derived'; pos: Position; query: QueryExpression; alias: Identifier }
  | {
      kind: 'join';
      pos: Position;
      type: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';
      natural: boolean;
      left: TableRef;
      right: TableRef;
      on?: Condition;
      using?: Identifier[];
    };

export interface SelectQuery {
  readonly kind: 'select';
  readonly pos: Position;
  readonly quantifier?: 'DISTINCT' | 'ALL';
  readonly top?: number;
  readonly items: SelectItem[];
  readonly from: TableRef[];
  readonly where?: Condition;
  readonly groupBy: Expr[];
  readonly having?: Condition;
}

export interface SetOperation {
  readonly kind: 'setop';
  readonly pos: Position;
  readonly op: 'UNION' | 'EXCEPT' | 'INTERSECT';
  readonly all: boolean;
  readonly left: QueryTerm;
  readonly right: QueryTerm;
}

/** A parenthesised select_expression used as a set operand. */
export interface NestedQuery {
  readonly kind: 'nested';
  readonly pos: Position;
  readonly query: QueryExpression;
}

export type QueryTerm = SelectQuery | SetOperation | NestedQuery;

export interface OrderTerm {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly pos: Position;
}

/** select_expression: a set expression with its ORDER BY and OFFSET. */
export interface QueryExpression {
  readonly kind: 'query';
  readonly pos: Position;
  readonly body: QueryTerm;
  readonly orderBy: OrderTerm[];
  readonly offset?: number;
}

export interface WithQuery {
  readonly name: Identifier;
  readonly query: QueryExpression;
}

/** The whole statement: `[WITH ...] select_expression`. */
export interface QueryAst {
  readonly kind: 'statement';
  readonly pos: Position;
  readonly with: WithQuery[];
  readonly query: QueryExpression;
}
