// zod schema → structural OpenAPI v3 schema → CustomResourceDefinition. Kubernetes accepts only
// "structural" schemas (every node typed, no $ref, no additionalProperties beside properties, no
// unions except int-or-string), so zod's JSON Schema is rewritten here; anything zod emits that
// has no structural form fails generation rather than being silently dropped.
import { z } from 'zod';
import type { KindDefinition } from './kinds.ts';
import { GROUP, VERSION } from './schemas.ts';

/** A node of an OpenAPI v3 schema, spelled as in apiextensions.k8s.io/v1 JSONSchemaProps. */
export type JsonSchema = {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema;
  required?: string[];
  [key: string]: unknown;
};

export type CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: KindDefinition['printerColumns'];
      schema: { openAPIV3Schema: JsonSchema };
    }[];
  };
};

// JSONSchemaProps fields that are copied as they are (properties, items, additionalProperties,
// format and the integer bounds are rewritten). uniqueItems, patternProperties, $ref, allOf/oneOf/
// anyOf/not and the like are left out on purpose: Kubernetes rejects them or they break structure.
const copiedKeys = new Set([
  'type', 'description', 'title', 'default', 'example', 'nullable', 'enum', 'required',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);

// Formats whose meaning is the same in zod and in the API server. Others (zod's `starts_with`,
// ISO `duration`, which Kubernetes reads as a Go duration) are dropped: zod still checks them.
const sharedFormats = new Set(['uri', 'email', 'uuid', 'date', 'date-time', 'hostname', 'ipv4', 'ipv6']);

type JsonNode = Record<string, unknown>;

const without = (node: JsonNode, ...keys: string[]): JsonNode =>
  Object.fromEntries(Object.entries(node).filter(([key]) => !keys.includes(key)));

const isEmptyObject = (value: unknown) =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 0;

/** The structural OpenAPI v3 schema of the input side of `schema` (defaults make fields optional). */
export function structuralSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    unrepresentable: 'throw',
  }) as JsonNode;
  return toStructural(json, '');
}

function toStructural(node: JsonNode, path: string): JsonSchema {
  const where = path || '<root>';
  for (const key of ['$ref', '$defs', 'definitions']) {
    if (key in node) throw new Error(`${where}: ${key} is not allowed in a CRD schema (recursive or shared zod schema?)`);
  }
  const union = (node.anyOf ?? node.oneOf) as JsonNode[] | undefined;
  if (union) return intOrString(node, union, where);

  const properties = Object.entries((node.properties ?? {}) as Record<string, JsonNode>);
  const additional = node.additionalProperties;
  // z.looseObject / z.record(…, z.unknown()): unknown fields are kept, which Kubernetes spells
  // x-kubernetes-preserve-unknown-fields rather than an open additionalProperties.
  const keepsUnknownFields = additional === true || isEmptyObject(additional);
  const typedAdditional = typeof additional === 'object' && additional !== null && !keepsUnknownFields;
  if (properties.length > 0 && typedAdditional) {
    throw new Error(`${where}: an object cannot have both properties and typed additionalProperties`);
  }

  // Keys keep zod's order, so the YAML reads like the schema.
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
        break;
      case 'properties':
        if (properties.length > 0 || (!keepsUnknownFields && !typedAdditional)) {
          out.properties = Object.fromEntries(
            properties.map(([name, child]) => [name, toStructural(child, path ? `${path}.${name}` : name)]),
          );
        }
        break;
      case 'additionalProperties':
        if (keepsUnknownFields) out['x-kubernetes-preserve-unknown-fields'] = true;
        else if (typedAdditional) out.additionalProperties = toStructural(additional as JsonNode, `${path}[*]`);
        // false (z.strictObject) needs nothing: the API server prunes unknown fields anyway.
        break;
      case 'items':
        if (Array.isArray(value)) throw new Error(`${where}: tuples have no structural CRD form`);
        out.items = toStructural(value as JsonNode, `${path}[*]`);
        break;
      case 'format':
        if (sharedFormats.has(value as string)) out.format = value;
        break;
      case 'maximum':
      case 'minimum':
        // z.int()'s safe-integer bounds are not a rule of ours, and noise in `kubectl explain`.
        if (value !== Number.MAX_SAFE_INTEGER && value !== Number.MIN_SAFE_INTEGER) out[key] = value;
        break;
      default:
        if (!copiedKeys.has(key)) throw new Error(`${where}: JSON Schema keyword ${key} has no structural CRD form`);
        out[key] = value;
    }
  }

  const untyped = out['x-kubernetes-preserve-unknown-fields'] === true || out['x-kubernetes-int-or-string'] === true;
  if (out.type === undefined && !untyped) {
    throw new Error(`${where}: every schema node needs a type (z.any()/z.unknown() cannot be a CRD field)`);
  }
  return out;
}

// z.union([z.string(), z.int()]) is Kubernetes' int-or-string (resource quantities). The
// branches' own checks (a string pattern, integer bounds) apply only to values of their type,
// so they move up beside the marker.
function intOrString(node: JsonNode, branches: JsonNode[], where: string): JsonSchema {
  const stringBranch = branches.find((b) => b.type === 'string');
  const intBranch = branches.find((b) => b.type === 'integer');
  if (branches.length !== 2 || !stringBranch || !intBranch) {
    const hint = branches.some((b) => b.type === 'number') ? ' (use z.int(): int-or-string rejects fractions)' : '';
    throw new Error(`${where}: the only union a CRD schema allows is string | integer${hint}`);
  }
  const checks = toStructural(
    {
      ...without(node, 'anyOf', 'oneOf'),
      ...without(stringBranch, 'type'),
      ...without(intBranch, 'type'),
      'x-kubernetes-int-or-string': true,
    },
    where,
  );
  return { anyOf: [{ type: 'integer' }, { type: 'string' }], ...checks };
}

const typeMetaFields: Record<string, JsonSchema> = {
  apiVersion: {
    type: 'string',
    description: 'APIVersion defines the versioned schema of this representation of an object.',
  },
  kind: {
    type: 'string',
    description: 'Kind is a string value representing the REST resource this object represents.',
  },
  metadata: { type: 'object' },
};

/** The full object schema: type meta, metadata, the required spec and the status. */
export function resourceSchema(definition: KindDefinition): JsonSchema {
  return {
    type: 'object',
    description: definition.description,
    properties: {
      ...typeMetaFields,
      spec: structuralSchema(definition.spec),
      status: structuralSchema(definition.status),
    },
    required: ['spec'],
  };
}

export function customResourceDefinition(definition: KindDefinition): CustomResourceDefinition {
  const { kind, listKind, plural, singular, shortNames, categories } = definition;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind, listKind, plural, singular, shortNames, categories },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: { openAPIV3Schema: resourceSchema(definition) },
        },
      ],
    },
  };
}
