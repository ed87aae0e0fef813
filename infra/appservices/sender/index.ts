/** The appservice sender (public surface): the room log consumer pushing transactions to application services. */
export { startAppserviceSender, type AppserviceExtrasSource, type AppserviceSender, type StartAppserviceSenderOptions } from './sender.ts';
export { APPSERVICE_SENDER_NAME, APPSERVICE_SENDER_POSITIONS } from './store.ts';
export { createAppserviceEphemeral, tapNotifier, type AppserviceEphemeralOptions, type NotifierTap } from './ephemeral.ts';
