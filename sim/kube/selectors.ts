import { badRequest } from './status.ts';
import type { KubeObject } from './types.ts';

/**
 * Label and field selectors with the syntax and meaning of k8s.io/apimachinery's `labels` and
 * `fields` packages: a comma means AND; `!=` and `notin` also match objects without the label.
 */

type LabelOp = 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export interface LabelSelector {
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Label names are at most 63 characters, prefixes at most 253 (a DNS subdomain). */
const MAX_NAME = 63;
const MAX_PREFIX = 253;

export const everything: LabelSelector = { empty: true, matches: () => true };

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text?.trim()) return everything;
  const requirements = new LabelParser(text).parse();
  return {
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => requirementMatches(r, labels ?? {})),
  };
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

function unableToParse(detail: string): Error {
  return badRequest(`unable to parse requirement: ${detail}`);
}

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  if (!QUALIFIED_NAME.test(key) || name.length > MAX_NAME || prefix.length > MAX_PREFIX) {
    throw unableToParse(
      `<nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (value.length > MAX_NAME || !LABEL_VALUE.test(value)) {
    throw unableToParse(
      `values[0][${key}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

/** A small recursive-descent parser over the selector text; positions index into `text`. */
class LabelParser {
  private readonly text: string;
  private pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) {
        if (out.length > 0) throw badRequest(`found '', expected: identifier after ','`);
        return out;
      }
      out.push(this.requirement());
      this.skipSpace();
      if (this.pos >= this.text.length) return out;
      if (this.text[this.pos] !== ',') {
        throw badRequest(`found '${this.text[this.pos]}', expected: ',' or 'end of string'`);
      }
      this.pos++;
    }
  }

  private requirement(): LabelRequirement {
    if (this.text[this.pos] === '!') {
      this.pos++;
      this.skipSpace();
      const key = this.identifier();
      checkKey(key);
      return { key, op: '!exists', values: [] };
    }
    const key = this.identifier();
    checkKey(key);
    this.skipSpace();
    const rest = this.text.slice(this.pos);
    if (rest === '' || rest.startsWith(',')) return { key, op: 'exists', values: [] };
    for (const [token, op] of [
      ['==', 'in'],
      ['!=', 'notin'],
      ['=', 'in'],
      ['>', 'gt'],
      ['<', 'lt'],
    ] as const) {
      if (rest.startsWith(token)) {
        this.pos += token.length;
        this.skipSpace();
        const value = this.value();
        if (op === 'gt' || op === 'lt') {
          if (!/^-?\d+$/.test(value)) {
            throw unableToParse(
              `values[0]: Invalid value: "${value}": for 'Gt', 'Lt' operators, the value must be an integer`,
            );
          }
        } else {
          checkValue(key, value);
        }
        return { key, op, values: [value] };
      }
    }
    const word = /^(notin|in)\s*\(/.exec(rest);
    if (word) {
      this.pos += word[0].length;
      const values = this.valueSet();
      for (const value of values) checkValue(key, value);
      return { key, op: word[1] === 'in' ? 'in' : 'notin', values };
    }
    throw badRequest(`found '${rest.split(/[\s,]/)[0]}', expected: in, notin, =, ==, !=, gt, lt`);
  }

  private valueSet(): string[] {
    const values: string[] = [];
    for (;;) {
      this.skipSpace();
      values.push(this.value());
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ')') return values;
      if (c !== ',') throw badRequest(`found '${c ?? ''}', expected: ',', ')' or identifier`);
    }
  }

  private identifier(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,=!<>()]/.test(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) throw badRequest(`found '${this.text[this.pos] ?? ''}', expected: identifier`);
    return this.text.slice(start, this.pos);
  }

  /** A value may be empty (`app=`), so unlike identifier() this never fails. */
  private value(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,=!<>()]/.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
}

/** Reads one supported field of an object as the string a field selector compares against. */
export type FieldGetter = (obj: KubeObject) => string;

interface FieldRequirement {
  get: FieldGetter;
  equal: boolean;
  value: string;
}

export interface FieldSelector {
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
}

export const allFields: FieldSelector = { empty: true, matches: () => true };

/**
 * Parses `a=b,c!=d` against the fields a resource supports; any other field is a 400, as the
 * API server answers for a field label it has no conversion for.
 */
export function parseFieldSelector(
  text: string | null | undefined,
  supported: Readonly<Record<string, FieldGetter>>,
): FieldSelector {
  if (!text?.trim()) return allFields;
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    const match = /^(.*?)(==|!=|=)(.*)$/s.exec(term);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = match[1]!.trim();
    const get = Object.hasOwn(supported, field) ? supported[field] : undefined;
    if (!get) throw badRequest(`field label not supported: ${field}`);
    requirements.push({ get, equal: match[2] !== '!=', value: unescapeFieldValue(match[3]!) });
  }
  return {
    empty: requirements.length === 0,
    matches: (obj) => requirements.every((r) => (r.get(obj) === r.value) === r.equal),
  };
}

/** Splits on `sep` except where it is escaped with a backslash, as fields.ParseSelector does. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.filter((p) => p.trim() !== '');
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\' || c === ',' || c === '=') return c;
    throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
  });
}
