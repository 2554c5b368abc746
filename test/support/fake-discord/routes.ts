/**
 * Every route of the fake's REST API and CDN, registered in the order they are matched (the
 * first that fits a request answers it). The route names are what faults and
 * `fake.requests[].route` use (README.md beside this file).
 */
import type { ChannelStore } from './channels.js';
import type { Plumbing, RouteTable } from './http.js';
import type { MessageStore } from './message-store.js';
import type { Renderers } from './render.js';
import { appRoutes } from './routes-app.js';
import { cdnRoutes } from './routes-cdn.js';
import { channelRoutes } from './routes-channels.js';
import { interactionRoutes } from './routes-interactions.js';
import { messageRoutes } from './routes-messages.js';
import type { FakeState } from './state.js';

export interface RouteDeps {
  s: FakeState;
  r: Renderers;
  h: Plumbing;
  m: MessageStore;
  c: ChannelStore;
  route: RouteTable['route'];
}

export function registerRoutes(deps: RouteDeps): void {
  appRoutes(deps);
  channelRoutes(deps);
  messageRoutes(deps);
  interactionRoutes(deps);
  cdnRoutes(deps);
}
