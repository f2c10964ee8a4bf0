// The REST tests' client: openapi-fetch typed by the types generated from the OpenAPI document,
// and every response checked at run time against that document (status documented, body valid
// against its schema, required headers present), so the document cannot drift from the server.
import { dereference } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../../src/generated/rest-api.js';
import { openApiDocument } from '../../src/rest/openapi.js';

interface ResponseSpec {
  headers?: Record<string, { required?: boolean }>;
  content?: { 'application/json'?: { schema: object } };
}
type Operations = Record<string, Record<string, { responses: Record<string, ResponseSpec> }>>;

/** Middleware that throws on any response the document does not describe. */
export async function documentChecker(): Promise<Middleware> {
  const doc = (await dereference(structuredClone(openApiDocument) as never)) as unknown as { paths: Operations };
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const compiled = new Map<object, ValidateFunction>();
  return {
    async onResponse({ request, response, schemaPath }) {
      const where = `${request.method} ${schemaPath} → ${response.status}`;
      const spec = doc.paths[schemaPath]?.[request.method.toLowerCase()]?.responses[String(response.status)];
      if (!spec) throw new Error(`${where}: not described in the OpenAPI document`);
      for (const [name, header] of Object.entries(spec.headers ?? {})) {
        if (header.required && !response.headers.has(name)) throw new Error(`${where}: missing header ${name}`);
      }
      const schema = spec.content?.['application/json']?.schema;
      if (!schema) return;
      let validate = compiled.get(schema);
      if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
      const body: unknown = await response.clone().json();
      if (!validate(body)) throw new Error(`${where}: body does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
    },
  };
}

/** A client of the server at `baseUrl`, with every response held to the document by `checker`. */
export function restClient(baseUrl: string, headers: Record<string, string>, checker: Middleware): Client<paths> {
  const client = createClient<paths>({ baseUrl, headers });
  client.use(checker);
  return client;
}
