import type { PatchSchema } from './patch.ts';
import { age, type Column, column, type Printer } from './printing.ts';
import type { ViewConversion } from './resources.ts';
import type { FieldGetter } from './selectors.ts';
import {
  dnsSubdomainErrors,
  fieldInvalid,
  fieldRequired,
  keepSystemMetadata,
  type Strategy,
  validateMetadata,
} from './strategy.ts';
import type { KubeObject, ObjectMeta, StatusCause } from './types.ts';
import {
  decodeFailure,
  decodeInt32,
  decodeMicroTime,
  decodeString,
  decodeTime,
  type Fail,
  typeMismatch,
} from './wire.ts';

/**
 * Events, served by two APIs from one storage, as the API server does it:
 *
 * - core `v1` Events (pkg/registry/core/event) are what etcd holds and what `kubectl describe`
 *   and `kubectl get events` read;
 * - `events.k8s.io/v1` Events are the same objects converted field by field
 *   (pkg/apis/events/v1/conversion.go): regarding↔involvedObject, note↔message,
 *   reportingController↔reportingComponent, deprecatedSource↔source,
 *   deprecatedFirstTimestamp/deprecatedLastTimestamp/deprecatedCount↔firstTimestamp/lastTimestamp/count;
 *   eventTime, series, action, reason, related, type and reportingInstance keep their names.
 *
 * Validation is pkg/apis/core/validation/events.go: every write passes the legacy rules, and
 * writes through events.k8s.io/v1 also the strict ones (eventTime required, type Normal or
 * Warning, no deprecated fields on create, series of at least 2, everything but series and
 * metadata immutable on update). Error paths use the internal type's names (`message`,
 * `reportingController`, `involvedObject.namespace`), as the real messages do.
 */

/** Limits from pkg/apis/core/validation/events.go. */
const REPORTING_INSTANCE_LENGTH_LIMIT = 128;
const ACTION_LENGTH_LIMIT = 128;
const REASON_LENGTH_LIMIT = 128;
const NOTE_LENGTH_LIMIT = 1024;

interface Reference {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  apiVersion: string;
  resourceVersion: string;
  fieldPath: string;
}

interface Series {
  count: number;
  lastObservedTime: string | null;
}

/** The internal core.Event: one shape whichever API the object came through. */
export interface InternalEvent {
  involvedObject: Reference;
  reason: string;
  message: string;
  source: { component: string; host: string };
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  count: number;
  type: string;
  eventTime: string | null;
  series: Series | undefined;
  action: string;
  related: Reference | undefined;
  reportingController: string;
  reportingInstance: string;
}

const REFERENCE_FIELDS = [
  'kind',
  'namespace',
  'name',
  'uid',
  'apiVersion',
  'resourceVersion',
  'fieldPath',
] as const;

// ---- decoding (the typed Go structs of k8s.io/api) -------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields of a JSON object that the Go struct does not have, as `path.field`, are dropped and noted. */
function noteUnknown(
  value: Record<string, unknown>,
  known: readonly string[],
  path: string,
  unknown: string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) unknown.push(path ? `${path}.${key}` : key);
  }
}

function structOf(value: unknown, goField: string, goType: string, fail: Fail): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw fail(typeMismatch(value, goField, goType));
  return value;
}

function decodeReference(value: unknown, path: string, fail: Fail, unknown: string[]): Reference {
  const raw = structOf(value, `Event.${path}`, 'v1.ObjectReference', fail);
  noteUnknown(raw, REFERENCE_FIELDS, path, unknown);
  const ref = {} as Reference;
  for (const field of REFERENCE_FIELDS) {
    ref[field] = decodeString(raw[field], `ObjectReference.${path}.${field}`, fail);
  }
  return ref;
}

function decodeSource(value: unknown, path: string, fail: Fail, unknown: string[]) {
  const raw = structOf(value, `Event.${path}`, 'v1.EventSource', fail);
  noteUnknown(raw, ['component', 'host'], path, unknown);
  return {
    component: decodeString(raw.component, `EventSource.${path}.component`, fail),
    host: decodeString(raw.host, `EventSource.${path}.host`, fail),
  };
}

function decodeSeries(value: unknown, fail: Fail, unknown: string[]): Series | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = structOf(value, 'Event.series', 'v1.EventSeries', fail);
  noteUnknown(raw, ['count', 'lastObservedTime'], 'series', unknown);
  return {
    count: decodeInt32(raw.count, 'EventSeries.series.count', fail),
    lastObservedTime: decodeMicroTime(raw.lastObservedTime, 'EventSeries.series.lastObservedTime', fail),
  };
}

const ENVELOPE = ['kind', 'apiVersion', 'metadata'];

const CORE_FIELDS = [
  ...ENVELOPE,
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'type',
  'eventTime',
  'series',
  'action',
  'related',
  'reportingComponent',
  'reportingInstance',
];

/** A core v1 Event (wire or stored form) as the internal type. */
export function fromCore(obj: KubeObject, fail: Fail, unknown: string[]): InternalEvent {
  noteUnknown(obj, CORE_FIELDS, '', unknown);
  const s = (field: string) => decodeString(obj[field], `Event.${field}`, fail);
  return {
    involvedObject: decodeReference(obj.involvedObject, 'involvedObject', fail, unknown),
    reason: s('reason'),
    message: s('message'),
    source: decodeSource(obj.source, 'source', fail, unknown),
    firstTimestamp: decodeTime(obj.firstTimestamp, 'Event.firstTimestamp', fail),
    lastTimestamp: decodeTime(obj.lastTimestamp, 'Event.lastTimestamp', fail),
    count: decodeInt32(obj.count, 'Event.count', fail),
    type: s('type'),
    eventTime: decodeMicroTime(obj.eventTime, 'Event.eventTime', fail),
    series: decodeSeries(obj.series, fail, unknown),
    action: s('action'),
    related:
      obj.related === undefined || obj.related === null
        ? undefined
        : decodeReference(obj.related, 'related', fail, unknown),
    reportingController: s('reportingComponent'),
    reportingInstance: s('reportingInstance'),
  };
}

const V1_FIELDS = [
  ...ENVELOPE,
  'eventTime',
  'series',
  'reportingController',
  'reportingInstance',
  'action',
  'reason',
  'regarding',
  'related',
  'note',
  'type',
  'deprecatedSource',
  'deprecatedFirstTimestamp',
  'deprecatedLastTimestamp',
  'deprecatedCount',
];

/** An events.k8s.io/v1 Event as the internal type (Convert_v1_Event_To_core_Event). */
export function fromEventsV1(obj: KubeObject, fail: Fail, unknown: string[]): InternalEvent {
  noteUnknown(obj, V1_FIELDS, '', unknown);
  const s = (field: string) => decodeString(obj[field], `Event.${field}`, fail);
  return {
    involvedObject: decodeReference(obj.regarding, 'regarding', fail, unknown),
    reason: s('reason'),
    message: s('note'),
    source: decodeSource(obj.deprecatedSource, 'deprecatedSource', fail, unknown),
    firstTimestamp: decodeTime(obj.deprecatedFirstTimestamp, 'Event.deprecatedFirstTimestamp', fail),
    lastTimestamp: decodeTime(obj.deprecatedLastTimestamp, 'Event.deprecatedLastTimestamp', fail),
    count: decodeInt32(obj.deprecatedCount, 'Event.deprecatedCount', fail),
    type: s('type'),
    eventTime: decodeMicroTime(obj.eventTime, 'Event.eventTime', fail),
    series: decodeSeries(obj.series, fail, unknown),
    action: s('action'),
    related:
      obj.related === undefined || obj.related === null
        ? undefined
        : decodeReference(obj.related, 'related', fail, unknown),
    reportingController: s('reportingController'),
    reportingInstance: s('reportingInstance'),
  };
}

// ---- encoding (Go's encoding/json with the types' omitempty tags) ---------------------------

/** ObjectReference: every field is omitempty. */
function referenceJson(ref: Reference): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of REFERENCE_FIELDS) if (ref[field]) out[field] = ref[field];
  return out;
}

function sourceJson(source: InternalEvent['source']): Record<string, string> {
  return {
    ...(source.component ? { component: source.component } : {}),
    ...(source.host ? { host: source.host } : {}),
  };
}

function envelope(kind: string, apiVersion: string, metadata: ObjectMeta): KubeObject {
  return { kind, apiVersion, metadata };
}

/**
 * The core v1 JSON, which is also the stored form. Time structs are never omitted (they marshal
 * as null when zero) and reportingComponent/reportingInstance have no omitempty, so an Event
 * written through events.k8s.io reads back with `"firstTimestamp": null` and `"source": {}`.
 */
export function coreJson(metadata: ObjectMeta, e: InternalEvent): KubeObject {
  const out = envelope('Event', 'v1', metadata);
  out.involvedObject = referenceJson(e.involvedObject);
  if (e.reason) out.reason = e.reason;
  if (e.message) out.message = e.message;
  out.source = sourceJson(e.source);
  out.firstTimestamp = e.firstTimestamp;
  out.lastTimestamp = e.lastTimestamp;
  if (e.count) out.count = e.count;
  if (e.type) out.type = e.type;
  out.eventTime = e.eventTime;
  if (e.series) {
    out.series = {
      ...(e.series.count ? { count: e.series.count } : {}),
      lastObservedTime: e.series.lastObservedTime,
    };
  }
  if (e.action) out.action = e.action;
  if (e.related) out.related = referenceJson(e.related);
  out.reportingComponent = e.reportingController;
  out.reportingInstance = e.reportingInstance;
  return out;
}

/** The events.k8s.io/v1 JSON (Convert_core_Event_To_v1_Event, then the v1 type's tags). */
export function eventsV1Json(metadata: ObjectMeta, e: InternalEvent): KubeObject {
  const out = envelope('Event', 'events.k8s.io/v1', metadata);
  out.eventTime = e.eventTime;
  if (e.series) out.series = { count: e.series.count, lastObservedTime: e.series.lastObservedTime };
  if (e.reportingController) out.reportingController = e.reportingController;
  if (e.reportingInstance) out.reportingInstance = e.reportingInstance;
  if (e.action) out.action = e.action;
  if (e.reason) out.reason = e.reason;
  out.regarding = referenceJson(e.involvedObject);
  if (e.related) out.related = referenceJson(e.related);
  if (e.message) out.note = e.message;
  if (e.type) out.type = e.type;
  out.deprecatedSource = sourceJson(e.source);
  out.deprecatedFirstTimestamp = e.firstTimestamp;
  out.deprecatedLastTimestamp = e.lastTimestamp;
  if (e.count) out.deprecatedCount = e.count;
  return out;
}

/** Stored objects were decoded on the way in; reading them back cannot fail. */
const trusted: Fail = (detail) => {
  throw new Error(`stored Event does not decode: ${detail}`);
};

/** The internal form of a stored (core v1) Event. */
export function internalOf(stored: KubeObject): InternalEvent {
  return fromCore(stored, trusted, []);
}

export const eventsV1View: ViewConversion = {
  toWire: (stored) => eventsV1Json(stored.metadata, internalOf(stored)),
  fromWire: (wire) => coreJson(wire.metadata, fromEventsV1(wire, trusted, [])),
};

// ---- validation ------------------------------------------------------------------------------

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** validation.IsQualifiedName: a name of at most 63 characters with an optional DNS-subdomain prefix. */
const QUALIFIED_NAME_MAX = 63;
const PREFIX_MAX = 253;
const QUALIFIED_NAME_FORMAT =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** The messages of k8s.io/apimachinery/pkg/util/validation.IsQualifiedName. */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const errors: string[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else {
      if (prefix.length > PREFIX_MAX)
        errors.push(`prefix part must be no more than ${PREFIX_MAX} characters`);
      if (!DNS1123_SUBDOMAIN.test(prefix)) {
        errors.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
      }
    }
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX)
    errors.push(`name part must be no more than ${QUALIFIED_NAME_MAX} characters`);
  if (name.length > 0 && !QUALIFIED_NAME_PART.test(name)) errors.push(QUALIFIED_NAME_FORMAT);
  return errors;
}

/** legacyValidateEvent: what every Event write must pass, whichever API it came through. */
function legacyValidate(e: InternalEvent, namespace: string): StatusCause[] {
  const errors: StatusCause[] = [];
  const mismatch = () =>
    errors.push(
      fieldInvalid('involvedObject.namespace', e.involvedObject.namespace, 'does not match event.namespace'),
    );
  if (e.eventTime === null) {
    // An old-style Event: its namespace and its object's must agree.
    if (!e.involvedObject.namespace) {
      if (namespace !== '' && namespace !== 'default') mismatch();
    } else if (namespace !== e.involvedObject.namespace) mismatch();
  } else {
    if (!e.involvedObject.namespace && namespace !== 'default' && namespace !== 'kube-system') mismatch();
    if (!e.reportingController) errors.push(fieldRequired('reportingController'));
    for (const msg of qualifiedNameErrors(e.reportingController)) {
      errors.push(fieldInvalid('reportingController', e.reportingController, msg));
    }
    if (!e.reportingInstance) errors.push(fieldRequired('reportingInstance'));
    if (e.reportingInstance.length > REPORTING_INSTANCE_LENGTH_LIMIT) {
      errors.push(
        fieldInvalid(
          'reportingInstance',
          '',
          `can have at most ${REPORTING_INSTANCE_LENGTH_LIMIT} characters`,
        ),
      );
    }
    if (!e.action) errors.push(fieldRequired('action'));
    if (e.action.length > ACTION_LENGTH_LIMIT) {
      errors.push(fieldInvalid('action', '', `can have at most ${ACTION_LENGTH_LIMIT} characters`));
    }
    if (!e.reason) errors.push(fieldRequired('reason'));
    if (e.reason.length > REASON_LENGTH_LIMIT) {
      errors.push(fieldInvalid('reason', '', `can have at most ${REASON_LENGTH_LIMIT} characters`));
    }
    if (e.message.length > NOTE_LENGTH_LIMIT) {
      errors.push(fieldInvalid('message', '', `can have at most ${NOTE_LENGTH_LIMIT} characters`));
    }
  }
  errors.push(...dnsSubdomainErrors('namespace', namespace));
  return errors;
}

function validateSeries(e: InternalEvent): StatusCause[] {
  if (!e.series) return [];
  const errors: StatusCause[] = [];
  if (e.series.count < 2) errors.push(fieldInvalid('series.count', '', 'should be at least 2'));
  if (e.series.lastObservedTime === null) errors.push(fieldRequired('series.lastObservedTime'));
  return errors;
}

/** The strict checks ValidateEventCreate adds for events.k8s.io/v1 (field paths as upstream writes them). */
function strictCreate(e: InternalEvent): StatusCause[] {
  const errors = validateSeries(e);
  if (e.eventTime === null) errors.push(fieldRequired('eventTime'));
  if (e.type !== 'Normal' && e.type !== 'Warning') {
    errors.push(fieldInvalid('type', '', `has invalid value: ${e.type}`));
  }
  if (e.firstTimestamp !== null) errors.push(fieldInvalid('firstTimestamp', '', 'needs to be unset'));
  if (e.lastTimestamp !== null) errors.push(fieldInvalid('lastTimestamp', '', 'needs to be unset'));
  if (e.count !== 0) errors.push(fieldInvalid('count', '', 'needs to be unset'));
  if (e.source.component || e.source.host) errors.push(fieldInvalid('source', '', 'needs to be unset'));
  return errors;
}

const IMMUTABLE_ON_V1_UPDATE: ReadonlyArray<keyof InternalEvent> = [
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'type',
  'eventTime',
  'action',
  'related',
  'reportingController',
  'reportingInstance',
];

/** ValidateEventUpdate for events.k8s.io/v1: only series and metadata may change. */
function strictUpdate(next: InternalEvent, prev: InternalEvent): StatusCause[] {
  const errors: StatusCause[] = [];
  if (JSON.stringify(next.series) !== JSON.stringify(prev.series)) errors.push(...validateSeries(next));
  for (const field of IMMUTABLE_ON_V1_UPDATE) {
    if (JSON.stringify(next[field]) !== JSON.stringify(prev[field])) {
      errors.push(fieldInvalid(field, next[field] ?? null, 'field is immutable'));
    }
  }
  return errors;
}

/**
 * The object-meta check rest.BeforeCreate runs for every kind after its own validation
 * (ValidateObjectMetaAccessor with path.ValidatePathSegmentName): core Events need a name, but
 * any name a URL path segment can carry.
 */
function pathSegmentNameErrors(obj: KubeObject): StatusCause[] {
  const name = obj.metadata.name;
  if (!name) {
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  }
  if (name === '.' || name === '..') return [fieldInvalid('metadata.name', name, `may not be '${name}'`)];
  const errors: StatusCause[] = [];
  for (const bad of ['/', '%']) {
    if (name.includes(bad)) errors.push(fieldInvalid('metadata.name', name, `may not contain '${bad}'`));
  }
  return errors;
}

function eventStrategy(api: 'core' | 'events.k8s.io'): Strategy {
  const fail = decodeFailure('Event', 'v1');
  const strict = api === 'events.k8s.io';
  return {
    // pkg/registry/core/event/strategy.go: PUT may create, and needs no resourceVersion.
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
    returnDeletedObject: false,
    subresources: [],

    decode(obj, unknown) {
      if (strict) return eventsV1Json(obj.metadata, fromEventsV1(obj, fail, unknown));
      return coreJson(obj.metadata, fromCore(obj, fail, unknown));
    },

    applyDefaults() {},

    prepareForCreate() {},

    validate(obj) {
      const e = internalOf(obj);
      const namespace = obj.metadata.namespace ?? '';
      const errors = legacyValidate(e, namespace);
      if (strict) errors.push(...validateMetadata(obj, false), ...strictCreate(e));
      // rest.BeforeCreate checks the common object meta only once the kind's own checks pass.
      return errors.length ? errors : pathSegmentNameErrors(obj);
    },

    prepareForUpdate(next) {
      return next;
    },

    validateUpdate(next, prev) {
      const errors = keepSystemMetadata(next, prev);
      const e = internalOf(next);
      errors.push(...legacyValidate(e, next.metadata.namespace ?? ''));
      if (strict) errors.push(...strictUpdate(e, internalOf(prev)));
      return errors;
    },
  };
}

export const coreEventStrategy = eventStrategy('core');
export const eventsV1Strategy = eventStrategy('events.k8s.io');

/** No list in an Event merges by key but metadata's own. */
export const EVENT_PATCH_SCHEMA: PatchSchema = {
  'metadata.finalizers': { primitiveSet: true },
  'metadata.ownerReferences': { mergeKey: 'uid' },
};

// ---- field selectors -------------------------------------------------------------------------

type StoredEvent = KubeObject & {
  involvedObject?: Partial<Reference>;
  source?: { component?: string };
  reportingComponent?: string;
  reason?: string;
  type?: string;
};

function ev(obj: KubeObject): StoredEvent {
  return obj as StoredEvent;
}

const referenceGetter =
  (field: keyof Reference): FieldGetter =>
  (o) =>
    ev(o).involvedObject?.[field] ?? '';

/**
 * The field labels core v1 accepts for Events (AddFieldLabelConversionsForEvent in
 * pkg/apis/core/v1/conversion.go) and their values (ToSelectableFields in
 * pkg/registry/core/event/strategy.go: `source` falls back to the reporting controller).
 */
export const coreEventFields: Readonly<Record<string, FieldGetter>> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
  ...Object.fromEntries(REFERENCE_FIELDS.map((f) => [`involvedObject.${f}`, referenceGetter(f)])),
  reason: (o) => ev(o).reason ?? '',
  reportingComponent: (o) => ev(o).reportingComponent ?? '',
  source: (o) => ev(o).source?.component || (ev(o).reportingComponent ?? ''),
  type: (o) => ev(o).type ?? '',
};

/**
 * The field labels events.k8s.io/v1 accepts: its own names, converted to the core ones
 * (regarding.* → involvedObject.*, reportingController → reportingComponent); `source` and the
 * core spellings are refused, as the API server's label conversion for that version refuses them.
 */
export const eventsV1Fields: Readonly<Record<string, FieldGetter>> = {
  'metadata.name': coreEventFields['metadata.name']!,
  'metadata.namespace': coreEventFields['metadata.namespace']!,
  ...Object.fromEntries(REFERENCE_FIELDS.map((f) => [`regarding.${f}`, referenceGetter(f)])),
  reason: coreEventFields.reason!,
  reportingController: coreEventFields.reportingComponent!,
  type: coreEventFields.type!,
};

// ---- printing --------------------------------------------------------------------------------

const EVENT_COLUMNS: readonly Column[] = [
  column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  column(
    'Reason',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column('Object', 'The object that this event is about.'),
  column(
    'Subobject',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
    1,
  ),
  column('Source', 'The component reporting this event. Should be a short machine understandable string.', 1),
  column('Message', 'A human-readable description of the status of this operation.'),
  column(
    'First Seen',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    1,
  ),
  column('Count', 'The number of times this event has occurred.', 1),
  column('Name', 'Name must be unique within a namespace.', 1, 'name'),
];

/**
 * printEvent of pkg/printers/internalversion/printers.go, wide (the server always prints wide and
 * kubectl hides priority-1 columns): times fall back from the deprecated fields to eventTime and
 * series.lastObservedTime, and a singleton new-style Event counts 1.
 */
export const eventPrinter: Printer = {
  columns: EVENT_COLUMNS,
  cells(obj, now) {
    const e = internalOf(obj);
    const first = e.firstTimestamp ? age(e.firstTimestamp, now) : age(e.eventTime, now);
    let last = e.lastTimestamp ? age(e.lastTimestamp, now) : first;
    let count = e.count;
    if (e.series) {
      last = age(e.series.lastObservedTime, now);
      count = e.series.count;
    } else if (count === 0) {
      count = 1;
    }
    const kind = e.involvedObject.kind.toLowerCase();
    const target = e.involvedObject.name ? `${kind}/${e.involvedObject.name}` : kind;
    const component = e.source.component || e.reportingController;
    const instance = e.source.host || e.reportingInstance;
    return [
      last,
      e.type,
      e.reason,
      target,
      e.involvedObject.fieldPath,
      instance ? `${component}, ${instance}` : component,
      e.message.trim(),
      first,
      count,
      obj.metadata.name,
    ];
  },
};
