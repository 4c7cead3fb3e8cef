import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type YAMLError,
} from 'yaml';
import { ConfigError } from '../errors.ts';
import { type KeyPath, quote } from './violation.ts';

/**
 * Hardened YAML reading for the configuration file. The file is untrusted text, so this reads
 * only plain data (mappings, lists, strings, numbers, booleans, null) and refuses whatever could
 * change that or cost more than the text's size.
 */

const CORE_TAG_PREFIX = 'tag:yaml.org,2002:';
const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => CORE_TAG_PREFIX + t),
);

// Each alias is counted by the size of what it expands to; past this the library refuses, which
// stops "billion laughs" documents. A real configuration has a handful of aliases, if any.
const MAX_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  col: number;
}

export interface ParsedYaml {
  /** The document as plain data; undefined for an empty file (or one with only comments). */
  value: unknown;
  /** Where the value (or with `atKey`, the key) at `keyPath` is written, as far as it can be followed. */
  locate(keyPath: KeyPath, atKey: boolean): Position | undefined;
}

/** Parses one YAML document. Throws ConfigError naming `source` and the line and column. */
export function parseYaml(text: string, source: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const fail = (offset: number | undefined, problem: string): never => {
    const where = offset === undefined ? source : `${source}:${formatPosition(lineCounter.linePos(offset))}`;
    throw new ConfigError('', `${where}: ${problem}`);
  };
  const documents = parseAllDocuments(text, {
    // The YAML 1.2 core schema, even under a `%YAML 1.1` directive: `yes`, `on` and `0x1F` stay
    // what 1.2 says they are, and booleans are only true and false.
    version: '1.2',
    schema: 'core',
    // `<<` is an ordinary key (and so an unknown one), not a merge that hides where values come from.
    merge: false,
    // No !!binary, !!timestamp, !!set: every value is a JSON type.
    resolveKnownTags: false,
    // Keys as written: `012345678901:` keeps its leading zero rather than becoming 12345678901.
    stringKeys: true,
    // Checked below in linear time; the library compares every key with every other, which took
    // 30 s for the 50 000 distinct keys that fit well within the 1 MiB limit.
    uniqueKeys: false,
    prettyErrors: false,
    // Problems are reported here, not printed by the library.
    logLevel: 'silent',
    lineCounter,
  });
  const document = documents[0];
  if (document === undefined) return { value: undefined, locate: () => undefined };
  const second = documents[1];
  if (second !== undefined) {
    fail(second.range[0], 'the file holds more than one YAML document; put the whole configuration in one');
  }
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    fail(syntaxError.pos[0], `invalid YAML: ${describeYamlProblem(syntaxError)}`);
  }
  checkNodes(document, fail);
  // Warnings left after the checks above (an unsupported directive, say) are refused too:
  // whatever the library had to guess about, the configuration should not depend on.
  const warning = document.warnings[0];
  if (warning !== undefined) fail(warning.pos[0], `invalid YAML: ${describeYamlProblem(warning)}`);

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/excessive alias count/i.test(message)) {
      fail(undefined, 'YAML aliases expand too much (refused as a possible alias bomb)');
    }
    fail(undefined, `invalid YAML: ${describeYamlProblem({ message })}`);
  }
  return {
    value,
    locate: (keyPath, atKey) => {
      const node = findNode(document, keyPath, atKey);
      return node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    },
  };
}

export function formatPosition(position: Position): string {
  return `${position.line}:${position.col}`;
}

function describeYamlProblem(problem: Pick<YAMLError, 'message'>): string {
  // The parser and toJS recurse per nesting level; running out of stack is the nesting's fault.
  if (/call stack|stack overflow/i.test(problem.message)) return 'nested too deeply';
  return firstLine(problem.message);
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? '';
}

/**
 * Refuses tags other than the core schema's, duplicate keys and aliases without an anchor. Iterative, so a deeply nested
 * document cannot overflow the stack here; aliases are not followed (their anchors are checked
 * where they are written), so an alias bomb is not expanded either.
 */
function checkNodes(document: Document, fail: (offset: number | undefined, problem: string) => never): void {
  const pending: unknown[] = [document.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isAlias(node)) {
      if (node.resolve(document) === undefined)
        fail(node.range?.[0], `invalid YAML: alias ${quote(`*${node.source}`)} has no anchor before it`);
      continue;
    }
    if (!isNode(node)) continue;
    if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
      fail(
        node.range?.[0],
        `YAML tag ${quote(shortTag(node.tag))} is not supported; the configuration is plain data`,
      );
    }
    const children: unknown[] = [];
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) fail(pair.key.range?.[0], `invalid YAML: duplicate key ${quote(key)}`);
          seen.add(key);
        }
        children.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) children.push(item);
    }
    // Reversed onto the stack so problems are found in the order they are written.
    for (let index = children.length - 1; index >= 0; index--) pending.push(children[index]);
  }
}

/** `!!binary` as written, rather than its expanded `tag:yaml.org,2002:binary`. */
function shortTag(tag: string): string {
  return tag.startsWith(CORE_TAG_PREFIX) ? `!!${tag.slice(CORE_TAG_PREFIX.length)}` : tag;
}

function findNode(document: Document, keyPath: KeyPath, atKey: boolean): Node | undefined {
  let node: unknown = document.contents;
  let found = isNode(node) ? node : undefined;
  for (let index = 0; index < keyPath.length; index++) {
    if (isAlias(node)) node = node.resolve(document);
    const segment = keyPath[index];
    if (typeof segment === 'string' && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
      if (pair === undefined) break;
      if (atKey && index === keyPath.length - 1 && isNode(pair.key)) return pair.key;
      node = pair.value;
    } else if (typeof segment === 'number' && isSeq(node)) {
      node = node.items[segment];
    } else {
      break;
    }
    if (!isNode(node)) break;
    found = node;
  }
  return found;
}
