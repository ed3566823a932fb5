// A hand-written recursive-descent parser: one method per production of the ADQL 2.1
// BNF (see adql.md §2), so an error can name the production that failed and the token
// that broke it. Only the parenthesised search condition needs lookahead beyond one
// token; it is resolved by a memoised trial parse (see booleanPrimary).
import type {
  CastTarget,
  CompOp,
  Condition,
  Expr,
  Identifier,
  OrderTerm,
  QueryAst,
  QueryExpression,
  QueryTerm,
  SelectItem,
  SelectQuery,
  TableRef,
  WithQuery,
} from './ast.js';
import { AdqlError, closest, type Position } from './errors.js';
import { AGGREGATES, FUNCTIONS } from './keywords.js';
import { type LexOptions, type Token, tokenize } from './lexer.js';

/**
 * Deepest nesting of parentheses, subqueries, NOTs and signs accepted by default: bounds the
 * recursion of the parser and of every later walk over the tree (a named limit). Chains
 * (a + b + ..., x OR y OR ..., JOIN ... JOIN, UNION ... UNION) are not nesting: they are
 * read and compiled by loops, at any length.
 */
export const MAX_NESTING = 100;

export interface ParseOptions extends LexOptions {
  /** Deepest nesting accepted (default MAX_NESTING). */
  readonly maxDepth?: number;
}

const COMP_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);
const FIXED_ARITY: Record<string, [number, number]> = {
  ABS: [1, 1],
  CEILING: [1, 1],
  DEGREES: [1, 1],
  EXP: [1, 1],
  FLOOR: [1, 1],
  LOG: [1, 1],
  LOG10: [1, 1],
  RADIANS: [1, 1],
  SQRT: [1, 1],
  ACOS: [1, 1],
  ASIN: [1, 1],
  ATAN: [1, 1],
  COS: [1, 1],
  COT: [1, 1],
  SIN: [1, 1],
  TAN: [1, 1],
  LOWER: [1, 1],
  UPPER: [1, 1],
  AREA: [1, 1],
  CENTROID: [1, 1],
  COORD1: [1, 1],
  COORD2: [1, 1],
  COORDSYS: [1, 1],
  MOD: [2, 2],
  POWER: [2, 2],
  ATAN2: [2, 2],
  CONTAINS: [2, 2],
  INTERSECTS: [2, 2],
  IN_UNIT: [2, 2],
  PI: [0, 0],
  RAND: [0, 1],
  ROUND: [1, 2],
  TRUNCATE: [1, 2],
  DISTANCE: [2, 4],
  COALESCE: [1, 1000],
  POINT: [2, 2],
  CIRCLE: [2, 3],
  BOX: [3, 4],
  POLYGON: [3, 100000],
  REGION: [1, 1],
};
const GEOMETRY_CONSTRUCTORS = new Set(['POINT', 'CIRCLE', 'BOX', 'POLYGON']);
/** SQL words that are not ADQL: named so the error can say what to write instead. */
const NOT_ADQL: Record<string, string> = {
  LIMIT: 'TOP n after SELECT',
  SUBSTRING: 'a declared function (none is)',
  TRIM: 'a declared function (none is)',
  POSITION: 'a declared function (none is)',
  EXTRACT: 'a declared function (none is)',
};

export function parse(adql: string, options: ParseOptions = {}): QueryAst {
  return new Parser(tokenize(adql, options), options.maxDepth ?? MAX_NESTING).statement();
}

class Parser {
  private i = 0;
  private depth = 0;
  private readonly parenConditions = new Map<number, { cond: Condition; end: number } | null>();

  constructor(
    private readonly t: Token[],
    private readonly maxDepth: number,
  ) {}

  // ---- token helpers ----
  private get tok(): Token {
    return this.t[this.i];
  }
  private peek(k = 1): Token {
    return this.t[Math.min(this.i + k, this.t.length - 1)];
  }
  private isKw(word: string, k = 0): boolean {
    const tk = this.peek(k);
    return tk.type === 'keyword' && tk.value === word;
  }
  private isOp(op: string, k = 0): boolean {
    const tk = this.peek(k);
    return tk.type === 'op' && tk.value === op;
  }
  private acceptKw(word: string): boolean {
    if (this.isKw(word)) {
      this.i++;
      return true;
    }
    return false;
  }
  private acceptOp(op: string): boolean {
    if (this.isOp(op)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectKw(word: string, context: string): Token {
    if (!this.isKw(word)) this.fail(`expected ${word} ${context}`);
    return this.t[this.i++];
  }
  private expectOp(op: string, context: string): Token {
    if (!this.isOp(op)) this.fail(`expected '${op}' ${context}`);
    return this.t[this.i++];
  }
  fail(message: string, tk: Token = this.tok, suggestion?: string): never {
    if (tk.type === 'ident' && NOT_ADQL[tk.value.toUpperCase()] && !suggestion) {
      throw new AdqlError(
        'unsupported',
        `${tk.value.toUpperCase()} is not ADQL`,
        tk.pos,
        tk.text,
        NOT_ADQL[tk.value.toUpperCase()],
      );
    }
    if (tk.type === 'op' && tk.value === ';') {
      throw new AdqlError('syntax', 'only one statement is allowed; remove the semicolon', tk.pos, ';');
    }
    throw new AdqlError('syntax', `${message}, found ${describe(tk)}`, tk.pos, tk.text, suggestion);
  }
  private enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new AdqlError(
        'syntax',
        `query nested more than ${this.maxDepth} levels deep (parentheses, subqueries, JOINs, NOT and signs count)`,
        this.tok.pos,
        this.tok.text,
      );
    }
  }
  private leave(): void {
    this.depth--;
  }

  // ---- query ----
  statement(): QueryAst {
    const pos = this.tok.pos;
    const withs: WithQuery[] = [];
    if (this.acceptKw('WITH')) {
      do withs.push(this.withQuery());
      while (this.acceptOp(','));
    }
    const query = this.selectExpression();
    // A single trailing semicolon is tolerated: clients add it out of SQL habit.
    if (this.isOp(';') && this.peek().type === 'eof') this.i++;
    if (this.tok.type !== 'eof') {
      if (this.isOp(')')) this.fail('unbalanced parenthesis');
      const prev = this.t[this.i - 1];
      // `FROM t LIMIT 10` parses LIMIT as a correlation name; say what was meant.
      if (prev?.type === 'ident' && prev.value.toUpperCase() === 'LIMIT' && this.tok.type === 'number')
        this.fail('', prev);
      this.fail('expected end of query');
    }
    return { kind: 'statement', pos, with: withs, query };
  }

  private withQuery(): WithQuery {
    const name = this.identifier('as the name of a WITH query');
    if (this.isOp('(')) this.fail('a WITH query takes no column list (ADQL-46)');
    this.expectKw('AS', 'after the WITH query name');
    this.expectOp('(', 'before the WITH query');
    const query = this.selectExpression();
    this.expectOp(')', 'after the WITH query');
    return { name, query };
  }

  selectExpression(): QueryExpression {
    this.enter();
    const pos = this.tok.pos;
    const body = this.querySetExpression();
    const orderBy: OrderTerm[] = [];
    if (this.acceptKw('ORDER')) {
      this.expectKw('BY', 'after ORDER');
      do orderBy.push(this.orderByTerm());
      while (this.acceptOp(','));
    }
    let offset: number | undefined;
    if (this.acceptKw('OFFSET')) offset = this.unsignedInteger('after OFFSET');
    this.leave();
    return { kind: 'query', pos, body, orderBy, offset };
  }

  private querySetExpression(): QueryTerm {
    let left = this.querySetTerm();
    while (this.isKw('UNION') || this.isKw('EXCEPT')) {
      const pos = this.tok.pos;
      const op = this.t[this.i++].value as 'UNION' | 'EXCEPT';
      const all = this.acceptKw('ALL');
      if (!all) this.acceptKw('DISTINCT');
      const right = this.querySetTerm();
      left = { kind: 'setop', pos, op, all, left, right };
    }
    return left;
  }

  private querySetTerm(): QueryTerm {
    let left = this.querySetPrimary();
    while (this.isKw('INTERSECT')) {
      const pos = this.tok.pos;
      this.i++;
      const all = this.acceptKw('ALL');
      if (!all) this.acceptKw('DISTINCT');
      const right = this.querySetPrimary();
      left = { kind: 'setop', pos, op: 'INTERSECT', all, left, right };
    }
    return left;
  }

  private querySetPrimary(): QueryTerm {
    if (this.isKw('SELECT')) return this.selectQuery();
    if (this.isOp('(')) {
      const pos = this.tok.pos;
      this.i++;
      if (this.isKw('WITH')) this.fail('WITH is allowed only at the start of the whole query (ADQL-46)');
      const query = this.selectExpression();
      this.expectOp(')', 'to close the parenthesised query');
      return { kind: 'nested', pos, query };
    }
    if (this.isKw('WITH')) this.fail('WITH is allowed only at the start of the whole query (ADQL-46)');
    this.fail('expected SELECT');
  }

  private selectQuery(): SelectQuery {
    const pos = this.expectKw('SELECT', 'to start a query').pos;
    let quantifier: 'DISTINCT' | 'ALL' | undefined;
    if (this.acceptKw('DISTINCT')) quantifier = 'DISTINCT';
    else if (this.acceptKw('ALL')) quantifier = 'ALL';
    let top: number | undefined;
    if (this.acceptKw('TOP')) top = this.unsignedInteger('after TOP');
    const items = this.selectList();
    if (!this.isKw('FROM'))
      this.fail(items.length ? 'expected FROM or , after the select list' : 'expected FROM');
    this.i++;
    const from: TableRef[] = [];
    do from.push(this.tableReference());
    while (this.acceptOp(','));
    let where: Condition | undefined;
    if (this.acceptKw('WHERE')) where = this.searchCondition();
    const groupBy: Expr[] = [];
    if (this.acceptKw('GROUP')) {
      this.expectKw('BY', 'after GROUP');
      do groupBy.push(this.valueExpression());
      while (this.acceptOp(','));
    }
    let having: Condition | undefined;
    if (this.acceptKw('HAVING')) having = this.searchCondition();
    return { kind: 'select', pos, quantifier, top, items, from, where, groupBy, having };
  }

  private unsignedInteger(context: string): number {
    const tk = this.tok;
    if (tk.type !== 'number' || !/^\d+$/.test(tk.value)) this.fail(`expected an unsigned integer ${context}`);
    this.i++;
    const v = Number(tk.value);
    if (!Number.isSafeInteger(v))
      throw new AdqlError('syntax', `integer too large ${context}`, tk.pos, tk.text);
    return v;
  }

  private selectList(): SelectItem[] {
    const items: SelectItem[] = [];
    if (this.isOp('*')) {
      items.push({ kind: 'all', pos: this.tok.pos });
      this.i++;
      return items;
    }
    if (this.isKw('FROM')) this.fail('expected a select list');
    do items.push(this.selectSublist());
    while (this.acceptOp(','));
    return items;
  }

  private selectSublist(): SelectItem {
    const pos = this.tok.pos;
    // qualifier "." "*": look ahead over identifier.identifier... "." "*"
    let k = 0;
    while (this.isName(k) && this.isOp('.', k + 1)) k += 2;
    if (k > 0 && this.isOp('*', k)) {
      const qualifier: Identifier[] = [];
      while (!this.isOp('*')) {
        qualifier.push(this.identifier('in a qualifier'));
        this.expectOp('.', 'in a qualifier');
      }
      this.i++;
      if (qualifier.length > 3) this.fail('a table name has at most 3 parts', this.t[this.i - 1]);
      return { kind: 'all', pos, qualifier };
    }
    const expr = this.valueExpression();
    let alias: Identifier | undefined;
    if (this.acceptKw('AS')) alias = this.identifier('as a column alias');
    else if (this.isName(0)) alias = this.identifier('as a column alias');
    return { kind: 'expr', pos, expr, alias };
  }

  private isName(k: number): boolean {
    const tk = this.peek(k);
    return tk.type === 'ident' || tk.type === 'delimited';
  }

  private identifier(context: string): Identifier {
    const tk = this.tok;
    if (tk.type === 'ident' || tk.type === 'delimited') {
      this.i++;
      return { name: tk.value, delimited: tk.type === 'delimited', pos: tk.pos };
    }
    if (tk.type === 'keyword') {
      throw new AdqlError(
        'syntax',
        `'${tk.text}' is a reserved word and cannot be used ${context} without quotes`,
        tk.pos,
        tk.text,
        `"${tk.text.toLowerCase()}"`,
      );
    }
    this.fail(`expected an identifier ${context}`);
  }

  private orderByTerm(): OrderTerm {
    const pos = this.tok.pos;
    const expr = this.valueExpression();
    let descending = false;
    if (this.acceptKw('DESC')) descending = true;
    else this.acceptKw('ASC');
    return { expr, descending, pos };
  }

  // ---- FROM ----
  private tableReference(): TableRef {
    this.enter();
    let left = this.tablePrimary();
    // Each JOIN nests the tree one level (the compiler, like PostgreSQL, walks joins
    // recursively and checks each ON against all tables joined before it): joins count
    // toward the nesting limit.
    let joins = 0;
    for (;;) {
      const pos = this.tok.pos;
      let natural = false;
      let type: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS' = 'INNER';
      const save = this.i;
      if (this.acceptKw('CROSS')) {
        type = 'CROSS';
      } else {
        natural = this.acceptKw('NATURAL');
        if (this.acceptKw('INNER')) type = 'INNER';
        else if (this.isKw('LEFT') || this.isKw('RIGHT') || this.isKw('FULL')) {
          type = this.t[this.i++].value as 'LEFT' | 'RIGHT' | 'FULL';
          this.acceptKw('OUTER');
        }
      }
      if (!this.isKw('JOIN')) {
        if (this.i !== save) this.fail('expected JOIN');
        break;
      }
      this.i++;
      this.enter();
      joins++;
      const right = this.tablePrimary();
      let on: Condition | undefined;
      let using: Identifier[] | undefined;
      if (type !== 'CROSS' && !natural) {
        if (this.acceptKw('ON')) on = this.searchCondition();
        else if (this.acceptKw('USING')) {
          this.expectOp('(', 'after USING');
          using = [];
          do using.push(this.identifier('in USING'));
          while (this.acceptOp(','));
          this.expectOp(')', 'to close USING');
        } else this.fail('expected ON or USING after the joined table (or write NATURAL JOIN)');
      } else if (this.isKw('ON') || this.isKw('USING')) {
        this.fail(`${natural ? 'NATURAL' : 'CROSS'} JOIN takes no ON or USING`);
      }
      left = { kind: 'join', pos, type, natural, left, right, on, using };
    }
    this.depth -= joins;
    this.leave();
    return left;
  }

  private tablePrimary(): TableRef {
    const pos = this.tok.pos;
    if (this.isOp('(')) {
      let k = 0;
      while (this.isOp('(', k)) k++;
      if (this.isKw('SELECT', k)) {
        this.i++;
        const query = this.selectExpression();
        this.expectOp(')', 'to close the subquery');
        if (!this.acceptKw('AS') && !this.isName(0)) {
          this.fail('a subquery in FROM needs a correlation name, e.g. (SELECT ...) AS q');
        }
        const alias = this.identifier('as the subquery name');
        return { kind: 'derived', pos, query, alias };
      }
      if (this.isKw('WITH', k))
        this.fail('WITH is allowed only at the start of the whole query (ADQL-46)', this.peek(k));
      this.i++;
      const inner = this.tableReference();
      this.expectOp(')', 'to close the joined table');
      return inner;
    }
    const name: Identifier[] = [this.identifier('as a table name')];
    while (this.acceptOp('.')) name.push(this.identifier('in a table name'));
    if (name.length > 3)
      this.fail('a table name has at most 3 parts (catalog.schema.table)', this.t[this.i - 1]);
    let alias: Identifier | undefined;
    if (this.acceptKw('AS')) alias = this.identifier('as a correlation name');
    else if (this.isName(0)) alias = this.identifier('as a correlation name');
    return { kind: 'table', pos, name, alias };
  }

  // ---- search conditions ----
  searchCondition(): Condition {
    this.enter();
    let left = this.booleanTerm();
    while (this.isKw('OR')) {
      const pos = this.t[this.i++].pos;
      left = { kind: 'or', pos, left, right: this.booleanTerm() };
    }
    this.leave();
    return left;
  }

  private booleanTerm(): Condition {
    let left = this.booleanFactor();
    while (this.isKw('AND')) {
      const pos = this.t[this.i++].pos;
      left = { kind: 'and', pos, left, right: this.booleanFactor() };
    }
    return left;
  }

  private booleanFactor(): Condition {
    if (this.isKw('NOT')) {
      const pos = this.t[this.i++].pos;
      this.enter();
      const arg = this.booleanFactor();
      this.leave();
      return { kind: 'not', pos, arg };
    }
    return this.booleanPrimary();
  }

  private booleanPrimary(): Condition {
    if (this.isOp('(') && !this.isKw('SELECT', 1)) {
      // "(" search_condition ")" or a predicate whose left operand starts with "(":
      // try the condition first (memoised per position), fall back to the predicate.
      const start = this.i;
      let memo = this.parenConditions.get(start);
      if (memo === undefined) {
        memo = null;
        try {
          const pos = this.tok.pos;
          this.i++;
          const cond = this.searchCondition();
          this.expectOp(')', 'to close the condition');
          if (!continuesValue(this.tok)) memo = { cond: { kind: 'group', pos, arg: cond }, end: this.i };
        } catch (e) {
          if (!(e instanceof AdqlError) || e.message.includes('nested more than')) throw e;
        }
        this.parenConditions.set(start, memo);
        this.i = start;
      }
      if (memo) {
        this.i = memo.end;
        return memo.cond;
      }
    }
    if (this.isKw('EXISTS')) {
      const pos = this.t[this.i++].pos;
      return { kind: 'exists', pos, query: this.subquery('after EXISTS') };
    }
    return this.predicate();
  }

  private subquery(context: string): QueryExpression {
    this.expectOp('(', context);
    if (!this.isKw('SELECT') && !this.isOp('(')) this.fail(`expected a subquery ${context}`);
    const q = this.selectExpression();
    this.expectOp(')', 'to close the subquery');
    return q;
  }

  private predicate(): Condition {
    const pos = this.tok.pos;
    const left = this.valueExpression();
    const tk = this.tok;
    if (tk.type === 'op' && COMP_OPS.has(tk.value)) {
      this.i++;
      return { kind: 'compare', pos, op: tk.value as CompOp, left, right: this.valueExpression() };
    }
    if (tk.type === 'op' && tk.value === '=') this.fail('expected a value');
    if (this.isKw('IS')) {
      this.i++;
      const not = this.acceptKw('NOT');
      this.expectKw('NULL', 'after IS');
      return { kind: 'isnull', pos, not, arg: left };
    }
    const not = this.acceptKw('NOT');
    if (this.acceptKw('BETWEEN')) {
      const low = this.valueExpression();
      this.expectKw('AND', 'in BETWEEN');
      const high = this.valueExpression();
      return { kind: 'between', pos, not, arg: left, low, high };
    }
    if (this.acceptKw('IN')) {
      if (this.isOp('(') && (this.isKw('SELECT', 1) || (this.isOp('(', 1) && this.looksLikeQuery(1)))) {
        return { kind: 'in', pos, not, arg: left, query: this.subquery('after IN') };
      }
      this.expectOp('(', 'after IN');
      const list: Expr[] = [];
      do list.push(this.valueExpression());
      while (this.acceptOp(','));
      this.expectOp(')', 'to close the IN list');
      return { kind: 'in', pos, not, arg: left, list };
    }
    if (this.isKw('LIKE') || this.isKw('ILIKE')) {
      const insensitive = this.t[this.i++].value === 'ILIKE';
      const pattern = this.valueExpression();
      if (this.isKw('ESCAPE')) this.fail('LIKE has no ESCAPE clause in ADQL');
      return { kind: 'like', pos, not, insensitive, arg: left, pattern };
    }
    if (not) this.fail('expected BETWEEN, IN, LIKE or ILIKE after NOT');
    if (tk.type === 'op' && tk.value === '=') this.fail('expected a comparison');
    this.fail(
      'expected a comparison (=, <>, <, >, <=, >=, BETWEEN, IN, LIKE, IS NULL); a function such as CONTAINS must be compared, e.g. 1 = CONTAINS(...)',
    );
  }

  private looksLikeQuery(k: number): boolean {
    while (this.isOp('(', k)) k++;
    return this.isKw('SELECT', k);
  }

  // ---- value expressions ----
  valueExpression(): Expr {
    this.enter();
    const first = this.i;
    let left = this.numericValue();
    if (this.isOp('||')) this.refuseSignedConcatOperand(first, first, this.i);
    while (this.isOp('||')) {
      const pos = this.t[this.i++].pos;
      const start = this.i;
      const right = this.numericValue();
      this.refuseSignedConcatOperand(first, start, this.i);
      left = { kind: 'binary', pos, op: '||', left, right };
    }
    this.leave();
    return left;
  }

  /**
   * ADQL 2.1 BNF: the operands of || are <character_factor>s, which carry no sign, so
   * `'id-' || -5` is not ADQL, while `'id-' || (-5)` is. The message shows the rewrite,
   * with the whole expression when it is short.
   */
  private refuseSignedConcatOperand(first: number, from: number, to: number): void {
    const sign = this.t[from];
    if (sign.type !== 'op' || (sign.value !== '-' && sign.value !== '+')) return;
    const operand = `(${this.sourceText(from, to)})`;
    const before = from > first ? this.sourceText(first, from) : '';
    const after = from === first ? ' ||' : '';
    const whole = `${before}${before ? ' ' : ''}${operand}${after}`;
    throw new AdqlError(
      'syntax',
      'an operand of || cannot start with a sign (ADQL 2.1: a <character_factor> is not signed); put it in parentheses',
      sign.pos,
      sign.text,
      whole.length <= 60 ? whole : `${from > first ? '|| ' : ''}${operand}${after}`,
    );
  }

  /** The tokens [from, to) as written, for messages. */
  private sourceText(from: number, to: number): string {
    return this.t
      .slice(from, to)
      .map((tk, k) => (k > 0 && tk.spaced ? ` ${tk.text}` : tk.text))
      .join('');
  }

  private numericValue(): Expr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const tk = this.t[this.i++];
      left = { kind: 'binary', pos: tk.pos, op: tk.value as '+' | '-', left, right: this.term() };
    }
    return left;
  }

  private term(): Expr {
    let left = this.factor();
    while (this.isOp('*') || this.isOp('/')) {
      const tk = this.t[this.i++];
      left = { kind: 'binary', pos: tk.pos, op: tk.value as '*' | '/', left, right: this.factor() };
    }
    return left;
  }

  private factor(): Expr {
    if (this.isOp('+') || this.isOp('-')) {
      const tk = this.t[this.i++];
      this.enter();
      const arg = this.factor();
      this.leave();
      return { kind: 'unary', pos: tk.pos, op: tk.value as '+' | '-', arg };
    }
    return this.valuePrimary();
  }

  private valuePrimary(): Expr {
    const tk = this.tok;
    const pos = tk.pos;
    switch (tk.type) {
      case 'number': {
        this.i++;
        const integer = /^\d+$/.test(tk.value);
        return { kind: 'number', pos, text: tk.value, value: Number(tk.value), integer };
      }
      case 'string':
        this.i++;
        return { kind: 'string', pos, value: tk.value };
      case 'ident':
      case 'delimited':
        if (tk.type === 'ident' && this.isOp('(', 1)) return this.udf();
        return this.columnReference();
      case 'op':
        if (tk.value === '(') {
          if (this.looksLikeQuery(1)) {
            this.i++;
            const query = this.selectExpression();
            this.expectOp(')', 'to close the subquery');
            return { kind: 'scalar', pos, query };
          }
          this.i++;
          const arg = this.valueExpression();
          this.expectOp(')', 'to close the parenthesis');
          return { kind: 'paren', pos, arg };
        }
        break;
      case 'keyword': {
        const w = tk.value;
        if (w === 'NULL') {
          this.i++;
          return { kind: 'null', pos };
        }
        if (AGGREGATES.has(w)) return this.setFunction();
        if (w === 'CAST') return this.castSpecification();
        if (w === 'CASE') return this.caseExpression();
        if (FUNCTIONS.has(w)) return this.functionCall();
        if (w === 'TRUE' || w === 'FALSE') {
          throw new AdqlError(
            'unsupported',
            'ADQL has no boolean literals',
            pos,
            tk.text,
            w === 'TRUE' ? '1' : '0',
          );
        }
        throw new AdqlError(
          'syntax',
          `'${tk.text}' is a reserved word and cannot be used as a name without quotes`,
          pos,
          tk.text,
          `"${tk.text.toLowerCase()}"`,
        );
      }
      default:
        break;
    }
    this.fail('expected a value');
  }

  private columnReference(): Expr {
    const pos = this.tok.pos;
    const parts: Identifier[] = [this.identifier('as a column name')];
    while (this.isOp('.')) {
      this.i++;
      parts.push(this.identifier('in a column reference'));
    }
    if (parts.length > 4) {
      throw new AdqlError('syntax', 'a column reference has at most 4 parts', parts[4].pos, parts[4].name);
    }
    return { kind: 'column', pos, parts };
  }

  private udf(): Expr {
    const tk = this.tok;
    const name = this.identifier('as a function name');
    this.expectOp('(', 'after the function name');
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      do args.push(this.valueExpression());
      while (this.acceptOp(','));
    }
    this.expectOp(')', 'to close the function call');
    return { kind: 'udf', pos: tk.pos, name, args };
  }

  private setFunction(): Expr {
    const tk = this.t[this.i++];
    this.expectOp('(', `after ${tk.value}`);
    if (tk.value === 'COUNT' && this.isOp('*')) {
      this.i++;
      this.expectOp(')', 'after COUNT(*');
      return { kind: 'aggregate', pos: tk.pos, name: 'COUNT' };
    }
    let quantifier: 'DISTINCT' | 'ALL' | undefined;
    if (this.acceptKw('DISTINCT')) quantifier = 'DISTINCT';
    else if (this.acceptKw('ALL')) quantifier = 'ALL';
    if (this.isOp(')')) this.fail(`${tk.value} needs an argument`);
    const arg = this.valueExpression();
    this.expectOp(')', `to close ${tk.value}(`);
    return { kind: 'aggregate', pos: tk.pos, name: tk.value, quantifier, arg };
  }

  private castSpecification(): Expr {
    const tk = this.t[this.i++];
    this.expectOp('(', 'after CAST');
    const arg = this.valueExpression();
    this.expectKw('AS', 'in CAST');
    const tt = this.tok;
    let target: CastTarget;
    if (tt.type !== 'keyword')
      this.fail(
        'expected a type name (INTEGER, SMALLINT, BIGINT, REAL, DOUBLE PRECISION, CHAR, VARCHAR, TIMESTAMP, POINT, CIRCLE, POLYGON)',
      );
    this.i++;
    switch (tt.value) {
      case 'CHAR':
      case 'VARCHAR': {
        let length: number | undefined;
        if (this.acceptOp('(')) {
          length = this.unsignedInteger('as the string length');
          if (length === 0) this.fail('string length must be positive', this.t[this.i - 1]);
          this.expectOp(')', 'after the string length');
        }
        target = { type: tt.value, length };
        break;
      }
      case 'DOUBLE':
        this.expectKw('PRECISION', 'after DOUBLE');
        target = { type: 'DOUBLE PRECISION' };
        break;
      case 'SMALLINT':
      case 'INTEGER':
      case 'BIGINT':
      case 'REAL':
      case 'TIMESTAMP':
      case 'POINT':
      case 'CIRCLE':
      case 'POLYGON':
        target = { type: tt.value };
        break;
      default:
        throw new AdqlError(
          'syntax',
          `cannot CAST to ${tt.text}`,
          tt.pos,
          tt.text,
          closest(tt.value, [
            'INTEGER',
            'SMALLINT',
            'BIGINT',
            'REAL',
            'DOUBLE PRECISION',
            'CHAR',
            'VARCHAR',
            'TIMESTAMP',
          ]),
        );
    }
    this.expectOp(')', 'to close CAST');
    return { kind: 'cast', pos: tk.pos, arg, target };
  }

  /** CASE is not ADQL 2.1 (ADQL-56); offered as a non-conflicting extension. */
  private caseExpression(): Expr {
    const pos = this.t[this.i++].pos;
    this.enter();
    let operand: Expr | undefined;
    if (!this.isKw('WHEN')) operand = this.valueExpression();
    const whens: { when: Condition | Expr; result: Expr }[] = [];
    while (this.acceptKw('WHEN')) {
      const when = operand ? this.valueExpression() : this.searchCondition();
      this.expectKw('THEN', 'in CASE');
      whens.push({ when, result: this.valueExpression() });
    }
    if (!whens.length) this.fail('expected WHEN in CASE');
    let otherwise: Expr | undefined;
    if (this.acceptKw('ELSE')) otherwise = this.valueExpression();
    this.expectKw('END', 'to close CASE');
    this.leave();
    return { kind: 'case', pos, operand, whens, otherwise };
  }

  private functionCall(): Expr {
    const tk = this.t[this.i++];
    const name = tk.value;
    if (!this.isOp('(')) {
      throw new AdqlError(
        'syntax',
        `'${tk.text}' is a reserved function name; call it as ${name}(...) or quote it as a name`,
        tk.pos,
        tk.text,
        `"${tk.text.toLowerCase()}"`,
      );
    }
    this.i++;
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      do args.push(this.valueExpression());
      while (this.acceptOp(','));
    }
    const close = this.expectOp(')', `to close ${name}(`);
    let coordsys: string | undefined;
    if (GEOMETRY_CONSTRUCTORS.has(name) && args.length > 0) {
      const first = args[0];
      // ADQL-26: the deprecated coordinate-system string may lead; NULL there is tolerated (ADQL-11).
      const extra =
        name === 'POLYGON'
          ? args.length % 2 === 1 && args.length >= 7
          : args.length === FIXED_ARITY[name][1] + 1;
      if (first.kind === 'string' || (first.kind === 'null' && extra)) {
        coordsys = first.kind === 'string' ? first.value : '';
        args.shift();
      }
    }
    const [min, max] = FIXED_ARITY[name];
    const badCount =
      args.length < min ||
      args.length > max ||
      (name === 'DISTANCE' && args.length === 3) ||
      (name === 'BOX' && args.length < 3);
    if (badCount) {
      const want =
        min === max
          ? `${min}`
          : name === 'DISTANCE'
            ? '2 or 4'
            : max > 100
              ? `at least ${min}`
              : `${min} to ${max}`;
      throw new AdqlError(
        'syntax',
        `${name} takes ${want} argument${want === '1' ? '' : 's'}, got ${args.length}`,
        tk.pos,
        close.text === ')' ? tk.text : close.text,
      );
    }
    if (name === 'REGION' && args[0].kind !== 'string') {
      throw new AdqlError('syntax', 'REGION takes a string literal', args[0].pos, tk.text);
    }
    if (name === 'IN_UNIT' && args[1].kind !== 'string') {
      throw new AdqlError('syntax', 'the unit of IN_UNIT must be a string literal', args[1].pos, tk.text);
    }
    if (name === 'RAND' && args.length === 1 && !(args[0].kind === 'number' && args[0].integer)) {
      throw new AdqlError('syntax', 'the seed of RAND must be an unsigned integer', args[0].pos, tk.text);
    }
    if ((name === 'ROUND' || name === 'TRUNCATE') && args.length === 2) {
      const a = args[1];
      const ok =
        (a.kind === 'number' && a.integer) ||
        (a.kind === 'unary' && a.arg.kind === 'number' && a.arg.integer);
      if (!ok)
        throw new AdqlError(
          'syntax',
          `the second argument of ${name} must be an integer literal`,
          a.pos,
          tk.text,
        );
    }
    return { kind: 'call', pos: tk.pos, name, args, coordsys };
  }
}

function continuesValue(tk: Token): boolean {
  if (tk.type === 'op')
    return ['=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '||'].includes(tk.value);
  if (tk.type === 'keyword') return ['BETWEEN', 'NOT', 'IN', 'LIKE', 'ILIKE', 'IS'].includes(tk.value);
  return false;
}

function describe(tk: Token): string {
  switch (tk.type) {
    case 'eof':
      return 'the end of the query';
    case 'keyword':
      return `keyword ${tk.value}`;
    case 'string':
      return `string ${tk.text.length > 30 ? `${tk.text.slice(0, 30)}...` : tk.text}`;
    default:
      return `'${tk.text}'`;
  }
}

export type { Position };
