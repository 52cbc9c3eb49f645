import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CommonErrors, GatehouseError, type FieldProblem } from '../../src/kit/errors.ts';

/** RFC 9457 problem details with Gatehouse's stable `code`. The one error shape of the API. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  requestId: string;
  errors?: FieldProblem[];
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Authentication required',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  423: 'Locked',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'Bad gateway',
  503: 'Service unavailable',
};

export function problemType(code: string): string {
  return `urn:gatehouse:problem:${code}`;
}

export function toProblem(err: unknown, req: FastifyRequest): Problem {
  const base = { instance: req.url, requestId: String(req.id) };
  if (err instanceof GatehouseError) {
    return {
      type: problemType(err.code),
      title: TITLES[err.status] ?? 'Error',
      status: err.status,
      detail: err.message,
      code: err.code,
      ...base,
      ...(err.problems.length ? { errors: err.problems } : {}),
      ...err.details,
    };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((v) => ({
      field: [err.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'invalid',
    }));
    return {
      type: problemType(CommonErrors.validation),
      title: TITLES[400]!,
      status: 400,
      detail: `The request is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      code: CommonErrors.validation,
      errors,
      ...base,
    };
  }
  const fe = err as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code =
      fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'unsupported_media_type'
        : fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'payload_too_large'
          : fe.statusCode === 400
            ? 'bad_request'
            : `http_${fe.statusCode}`;
    return {
      type: problemType(code),
      title: TITLES[fe.statusCode] ?? 'Error',
      status: fe.statusCode,
      detail: fe.message,
      code,
      ...base,
    };
  }
  return {
    type: problemType(CommonErrors.internal),
    title: TITLES[500]!,
    status: 500,
    detail: `Something went wrong on our side. Quote request id ${String(req.id)} when reporting it.`,
    code: CommonErrors.internal,
    ...base,
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

export const ProblemSchemaRef = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;
