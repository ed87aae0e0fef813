/** The appservice sender (public surface): the room log consumer pushing transactions to application services. */
export { startAppserviceSender, type AppserviceExtrasSource, type AppserviceSender, type StartAppserviceSenderOptions } from './sender.ts';
export { APPSERVICE_SENDER_NAME } from './store.ts';
export { createAppserviceEphemeral, tapNotifier, type AppserviceEphemeralOptions, type NotifierTap } from './ephemeral.ts';
