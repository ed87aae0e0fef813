export { createHttpApp, routeTable } from './app.ts';
export type { HttpAppOptions } from './app.ts';
export { readFormBody, readJsonBody } from './body.ts';
export type { ReadJsonBodyOptions } from './body.ts';
export { CORS_HEADERS } from './cors.ts';
export { closeAfterResponse } from './requestBounds.ts';
export type { HttpMetrics, RequestState, StrataContext, StrataMiddleware, StrataRouter } from './context.ts';
