import type { Coordinator } from '../store/index.js';
import { endpointLease } from './hosting-config.js';

/** Who serves an endpoint: this replica, a live peer (forward its invocations there), or nobody. */
export type EndpointOwner =
  { kind: 'self' } | { kind: 'peer'; replicaId: string; url: string } | { kind: 'none' };

/**
 * Which replica holds each endpoint's fleet, through the coordinator's leases. Without a
 * coordinator (one process) this process holds every endpoint.
 */
export class EndpointLeases {
  constructor(
    private readonly coordinator: Coordinator | undefined,
    /** Called when another replica took the endpoint over (our lease expired). */
    private readonly lost: (name: string) => void,
  ) {}

  /** Who holds `name`; `servedHere` (a live fleet in this process) answers `self` at once. */
  async owner(name: string, servedHere: boolean): Promise<EndpointOwner> {
    if (!this.coordinator || servedHere) return { kind: 'self' };
    return this.coordinator.ownerOf(endpointLease(name));
  }

  /** Takes the endpoint's lease. @returns false when another live replica holds it. */
  async claim(name: string): Promise<boolean> {
    const c = this.coordinator;
    if (!c) return true;
    return c.own(endpointLease(name), { lost: () => this.lost(name) });
  }

  /** Gives the lease up (endpoint deleted, or failed for good); errors are not the caller's. */
  release(name: string): void {
    this.coordinator?.disown(endpointLease(name)).catch(() => {});
  }
}
