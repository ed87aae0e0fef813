/** The /notifications route. */
export { createNotificationsRouter, parseNotificationsQuery, type NotificationsRouterOptions } from './router.ts';
