/** Client-server room routes. */
export { createRoomsRouter, type RoomsRouterOptions } from './router.ts';
