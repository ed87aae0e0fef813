/** Wake-ups for /sync long-polling (public surface). */
export { createInProcessNotifier, type Notifier } from './notifier.ts';
