export { createAppserviceClient, type AppserviceClientOptions, type HttpAppserviceClient } from './client.ts';
