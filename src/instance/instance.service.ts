// The instance's identity and policy as its admin sets them: its name and short description (shown
// on the home page) and who may register. Read on every registration and home page, so the values
// are cached in this process for a few seconds; a change made here is seen at once.
import type { RegistrationMode } from '../accounts/accounts.service.js';
import { ValidationError } from '../http/errors.js';
import { cleanLine, cleanMultiline } from '../shared/text.js';
import { InstanceRepository } from './instance.repository.js';

export interface InstanceSettings {
  name: string;
  description: string;
  registration_mode: RegistrationMode;
  /** Which settings an admin has saved at least once (the first-run checklist reads this). */
  configured: { name: boolean; registration_mode: boolean };
  updated_at: string | null;
}

export interface InstancePatch {
  name?: string;
  description?: string;
  registration_mode?: RegistrationMode;
}

export const DEFAULT_NAME = 'Nova';
const MODES: readonly RegistrationMode[] = ['open', 'closed', 'invite_only'];
const CACHE_MS = 5_000;

export class InstanceService {
  private cached: { at: number; value: InstanceSettings } | null = null;

  constructor(private readonly repo: InstanceRepository) {}

  async get(): Promise<InstanceSettings> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const rows = new Map((await this.repo.all()).map((r) => [r.key, r]));
    const mode = rows.get('registration_mode')?.value as RegistrationMode | undefined;
    const value: InstanceSettings = {
      name: rows.get('name')?.value || DEFAULT_NAME,
      description: rows.get('description')?.value ?? '',
      registration_mode: mode && MODES.includes(mode) ? mode : 'open',
      configured: { name: rows.has('name'), registration_mode: rows.has('registration_mode') },
      updated_at:
        [...rows.values()]
          .map((r) => r.updated_at)
          .sort()
          .pop() ?? null,
    };
    this.cached = { at: Date.now(), value };
    return value;
  }

  async registrationMode(): Promise<RegistrationMode> {
    return (await this.get()).registration_mode;
  }

  /** Saves the given settings (text cleaned of control characters; the schema bounds lengths). */
  async update(patch: InstancePatch): Promise<InstanceSettings> {
    const values: Record<string, string> = {};
    if (patch.name !== undefined) {
      values.name = cleanLine(patch.name).replace(/\s+/gu, ' ');
      if (!values.name) throw new ValidationError('The instance name is empty once surrounding spaces are removed.', [{ field: 'name', message: 'must not be empty' }]);
    }
    if (patch.description !== undefined) values.description = cleanMultiline(patch.description);
    if (patch.registration_mode !== undefined) values.registration_mode = patch.registration_mode;
    await this.repo.put(values, new Date().toISOString());
    this.cached = null;
    return this.get();
  }
}
