import { Counter, Gauge, type Registry } from 'prom-client';

/** The agent's metrics: alternatives generating now, and requests by event and outcome. */
export interface AgentMetrics {
  generationsChanged(delta: number): void;
  request(event: string, outcome: string): void;
}

/** Registers the agent's metrics on `registry`; a second extension on the same registry records nothing. */
export function registerAgentMetrics(registry: Registry): AgentMetrics {
  const registers = [registry];
  let generations: Gauge | null = null;
  let requests: Counter | null = null;
  try {
    generations = new Gauge({ name: 'ensemble_agent_generations_active', help: 'AI alternatives being generated', registers });
    requests = new Counter({ name: 'ensemble_agent_requests_total', help: 'AI collaborator requests by event and outcome', labelNames: ['event', 'outcome'], registers });
  } catch {
    // Already registered (a second extension instance on the same registry).
    generations = null;
    requests = null;
  }
  return {
    generationsChanged: (delta) => generations?.inc(delta),
    request: (event, outcome) => requests?.inc({ event, outcome }),
  };
}
