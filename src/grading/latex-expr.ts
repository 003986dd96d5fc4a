/**
 * LaTeX to expression tree (SPEC.md §4): one tokenizer and one recursive-descent parser, the
 * same as `to_expr` in gpu_runner/grading/latex_expr.py, so that mathjs here and SymPy there
 * evaluate the same tree. Neither library parses LaTeX, and their own parsers disagree on
 * implicit products and precedence; a shared grammar removes that difference.
 */

/** An expression tree; it travels as JSON to the Python side's SymPy worker. */
export type Expr =
  | ['num', string]
  | ['var', string]
  | ['const', 'pi' | 'e']
  | ['neg', Expr]
  | ['add' | 'sub' | 'mul' | 'div' | 'pow', Expr, Expr]
  | ['call', string, Expr];

export const MAX_SYMBOLIC_CHARS = 200;
const MAX_NODES = 100;
const MAX_DEPTH = 30;

type Token =
  | { t: 'num' | 'var' | 'func' | 'op' | 'open' | 'close'; v: string }
  | { t: 'const'; v: 'pi' | 'e' }
  | { t: 'frac' | 'sqrt' | 'bar'; v: '' };

const FUNCTIONS: Record<string, string> = {
  sin: 'sin',
  cos: 'cos',
  tan: 'tan',
  sec: 'sec',
  csc: 'csc',
  cot: 'cot',
  arcsin: 'asin',
  arccos: 'acos',
  arctan: 'atan',
  ln: 'log',
  log: 'log',
  exp: 'exp',
};
const GREEK = ['alpha', 'beta', 'gamma', 'delta', 'theta', 'lambda', 'mu', 'phi', 'sigma', 'omega'];
// Longest first, so that a prefix search finds `arcsin` before `sin`.
const byLength = (names: string[]) =>
  [...names].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
const COMMANDS = byLength([
  ...Object.keys(FUNCTIONS),
  'frac',
  'sqrt',
  'pi',
  'cdot',
  'times',
  'div',
  ...GREEK,
]);
const WORDS = byLength([...Object.keys(FUNCTIONS), 'sqrt', 'pi']);
const NUMBER = /[0-9]+(?:\.[0-9]+)?|\.[0-9]+/y;
const MATCHING: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class NotAnExpression extends Error {}

/** The expression a normalised scalar denotes, or null when it is not one (SPEC.md §4). */
export function toExpr(s: string): Expr | null {
  if (s.length > MAX_SYMBOLIC_CHARS) return null;
  try {
    const tokens = tokenize(s);
    const parser = new Parser(tokens);
    const e = parser.expr();
    if (parser.pos !== tokens.length) return null;
    return e;
  } catch (err) {
    if (err instanceof NotAnExpression) return null;
    throw err;
  }
}

/** The variables of a tree, sorted and without repeats. */
export function variables(...exprs: Expr[]): string[] {
  const found = new Set<string>();
  const walk = (e: Expr): void => {
    if (e[0] === 'var') found.add(e[1]);
    else if (e[0] === 'neg') walk(e[1]);
    else if (e[0] === 'call') walk(e[2]);
    else if (e[0] !== 'num' && e[0] !== 'const') {
      walk(e[1]);
      walk(e[2]);
    }
  };
  exprs.forEach(walk);
  return [...found].sort();
}

function fail(): never {
  throw new NotAnExpression();
}

const isLetter = (c: string | undefined) => c !== undefined && /^[A-Za-z]$/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (isDigit(c) || (c === '.' && isDigit(s[i + 1]))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(s)!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (c === '\\') {
      let j = i + 1;
      while (isLetter(s[j])) j++;
      const run = s.slice(i + 1, j);
      const name = COMMANDS.find((n) => run.startsWith(n)) ?? fail();
      i += 1 + name.length;
      if (GREEK.includes(name)) i = pushVariable(out, name, s, i);
      else out.push(commandToken(name));
    } else if (isLetter(c)) {
      const word = WORDS.find((w) => s.startsWith(w, i));
      if (word) {
        out.push(commandToken(word));
        i += word.length;
      } else if (c === 'e') {
        out.push({ t: 'const', v: 'e' });
        i++;
      } else {
        i = pushVariable(out, c, s, i + 1);
      }
    } else if ('+-*/^_'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else if ('([{'.includes(c)) {
      out.push({ t: 'open', v: c });
      i++;
    } else if (')]}'.includes(c)) {
      out.push({ t: 'close', v: c });
      i++;
    } else if (c === '|') {
      out.push({ t: 'bar', v: '' });
      i++;
    } else {
      fail();
    }
  }
  return out;
}

function commandToken(name: string): Token {
  if (name === 'frac' || name === 'sqrt') return { t: name, v: '' };
  if (name === 'pi') return { t: 'const', v: 'pi' };
  if (name === 'cdot' || name === 'times') return { t: 'op', v: '*' };
  if (name === 'div') return { t: 'op', v: '/' };
  return { t: 'func', v: FUNCTIONS[name] };
}

/** A variable with its subscript (`x_1`, `x_{ab}`); returns the index after it. */
function pushVariable(out: Token[], name: string, s: string, i: number): number {
  if (s[i] !== '_') {
    out.push({ t: 'var', v: name });
    return i;
  }
  let sub: string;
  let next: number;
  if (s[i + 1] === '{') {
    const close = s.indexOf('}', i + 2);
    sub = close < 0 ? '' : s.slice(i + 2, close);
    next = close + 1;
  } else {
    sub = s[i + 1] ?? '';
    next = i + 2;
  }
  if (!/^[A-Za-z0-9]+$/.test(sub)) fail();
  out.push({ t: 'var', v: `${name}_${sub}` });
  return next;
}

const startsFactor = (t: Token | undefined) =>
  t !== undefined && ['num', 'var', 'const', 'func', 'frac', 'sqrt', 'open'].includes(t.t);
const isAtom = (t: Token | undefined) =>
  t !== undefined && (t.t === 'num' || t.t === 'var' || t.t === 'const');

/** The grammar of SPEC.md §4; every method throws NotAnExpression on anything else. */
class Parser {
  pos = 0;
  private nodes = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  expr(): Expr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v === '+' ? 'add' : 'sub';
      left = this.node([op, left, this.term()]);
    }
    return left;
  }

  private term(): Expr {
    let left = this.unary();
    for (;;) {
      if (this.isOp('*') || this.isOp('/')) {
        const op = this.next().v === '*' ? 'mul' : 'div';
        left = this.node([op, left, this.unary()]);
      } else if (startsFactor(this.peek())) {
        left = this.node(['mul', left, this.power()]);
      } else {
        return left;
      }
    }
  }

  private unary(): Expr {
    if (++this.depth > MAX_DEPTH) fail();
    try {
      if (this.isOp('-')) {
        this.next();
        return this.node(['neg', this.unary()]);
      }
      if (this.isOp('+')) {
        this.next();
        return this.unary();
      }
      return this.power();
    } finally {
      this.depth--;
    }
  }

  private power(): Expr {
    const base = this.primary();
    if (!this.isOp('^')) return base;
    this.next();
    return this.node(['pow', base, this.unary()]);
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.t) {
      case 'num':
        return this.node(['num', t.v]);
      case 'var':
        return this.node(['var', t.v]);
      case 'const':
        return this.node(['const', t.v]);
      case 'open': {
        const inner = this.expr();
        this.expect('close', MATCHING[t.v]);
        return inner;
      }
      case 'bar': {
        const inner = this.expr();
        this.expect('bar', '');
        return this.node(['call', 'abs', inner]);
      }
      case 'frac': {
        const num = this.group('{');
        return this.node(['div', num, this.group('{')]);
      }
      case 'sqrt': {
        if (this.peek()?.t === 'open' && this.peek()?.v === '[') {
          this.next();
          const index = this.expr();
          this.expect('close', ']');
          const root = this.node(['div', this.node(['num', '1']), index]);
          return this.node(['pow', this.group(), root]);
        }
        return this.node(['call', 'sqrt', this.group()]);
      }
      case 'func':
        return this.functionCall(t.v);
      default:
        return fail();
    }
  }

  /** `\log_b x`, `\sin^2 x`, `\sin(x)`, `\sin 2x` (SPEC.md §4). */
  private functionCall(name: string): Expr {
    let base: Expr | null = null;
    let exponent: Expr | null = null;
    if (name === 'log' && this.isOp('_')) {
      this.next();
      base = this.primary();
    }
    if (this.isOp('^')) {
      this.next();
      exponent = this.primary();
    }
    let arg: Expr;
    if (this.peek()?.t === 'open') {
      arg = this.primary();
    } else {
      if (!isAtom(this.peek())) fail();
      arg = this.power();
      while (isAtom(this.peek())) arg = this.node(['mul', arg, this.power()]);
    }
    let call: Expr = this.node(['call', name, arg]);
    if (base) call = this.node(['div', call, this.node(['call', 'log', base])]);
    return exponent ? this.node(['pow', call, exponent]) : call;
  }

  /** A bracketed group (`{` only when `open` is given). */
  private group(open?: string): Expr {
    const t = this.peek();
    if (t?.t !== 'open' || (open !== undefined && t.v !== open)) fail();
    return this.primary();
  }

  private node<T extends Expr>(e: T): T {
    if (++this.nodes > MAX_NODES) fail();
    return e;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++] ?? fail();
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }

  private expect(kind: 'close' | 'bar', v: string): void {
    const t = this.next();
    if (t.t !== kind || t.v !== v) fail();
  }
}
