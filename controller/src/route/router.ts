// Ordered routes: the first whose CEL predicate holds picks the JobType. Anything else — no match,
// a predicate that errors or does not return a bool — is a routing failure with a readable reason.
import type { Route } from '../api/schemas.ts';
import { compile, type Compiled, type MessageContext } from './cel.ts';

export type RouteDecision =
  | { matched: true; route: string; jobType: string }
  | { matched: false; reason: 'NoRouteMatched' | 'RouteEvaluationFailed'; message: string };

export type Router = (context: MessageContext) => RouteDecision;

/** Compiles every route; throws CelCompileError naming the first bad route. */
export function compileRouter(routes: Route[]): Router {
  const compiled: { route: Route; predicate: Compiled }[] = routes.map((route) => {
    try {
      return { route, predicate: compile(route.when) };
    } catch (error) {
      throw new Error(`route ${route.name}: ${(error as Error).message}`, { cause: error });
    }
  });
  return (context) => {
    for (const { route, predicate } of compiled) {
      const result = predicate(context);
      if ('error' in result) {
        return { matched: false, reason: 'RouteEvaluationFailed', message: `route ${route.name}: ${result.error}` };
      }
      if (typeof result.value !== 'boolean') {
        return {
          matched: false,
          reason: 'RouteEvaluationFailed',
          message: `route ${route.name}: predicate returned ${typeof result.value}, not bool`,
        };
      }
      if (result.value) return { matched: true, route: route.name, jobType: route.jobType };
    }
    return { matched: false, reason: 'NoRouteMatched', message: `no route matched (tried ${routes.map((r) => r.name).join(', ')})` };
  };
}
