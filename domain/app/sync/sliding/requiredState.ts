/**
 * `required_state` matching (MSC4186 § RequiredStateRequest): a state entry is wanted when some
 * room config that selected the room includes it and does not exclude it; configs combine as a
 * union (§ Combining room configs). Lazy members are chosen apart (roomAnswer.ts).
 */
import type { RequiredStateConfig, RequiredStateElement } from './types.ts';

const matches = (element: RequiredStateElement, type: string, stateKey: string): boolean =>
  (element.type === undefined || element.type === type) && (element.stateKey === undefined || element.stateKey === stateKey);

export const wantedBy = (config: RequiredStateConfig, type: string, stateKey: string): boolean =>
  config.include.some((element) => matches(element, type, stateKey)) && !config.exclude.some((element) => matches(element, type, stateKey));

export const wanted = (configs: readonly RequiredStateConfig[], type: string, stateKey: string): boolean =>
  configs.some((config) => wantedBy(config, type, stateKey));

/**
 * The exact (type, state key) pairs the configs include, when none includes a wildcard: then only
 * those entries need reading (a room's whole state may be thousands of members). Undefined otherwise.
 */
export const exactKeys = (configs: readonly RequiredStateConfig[]): [string, string][] | undefined => {
  const keys: [string, string][] = [];
  for (const config of configs) {
    for (const element of config.include) {
      if (element.type === undefined || element.stateKey === undefined) return undefined;
      keys.push([element.type, element.stateKey]);
    }
  }
  return keys;
};

export const lazyMembers = (configs: readonly RequiredStateConfig[]): boolean => configs.some((config) => config.lazyMembers);

const configKey = (config: RequiredStateConfig): string => JSON.stringify([config.include, config.exclude, config.lazyMembers]);

/** Configs as a comparable key, whatever their order: the same key asks for the same state. */
export const configsKey = (configs: readonly RequiredStateConfig[]): string => JSON.stringify(configs.map(configKey).sort());

/** The configs without repeats (several lists often share one). */
export const distinctConfigs = (configs: readonly RequiredStateConfig[]): RequiredStateConfig[] => {
  const seen = new Map<string, RequiredStateConfig>();
  for (const config of configs) if (!seen.has(configKey(config))) seen.set(configKey(config), config);
  return [...seen.values()];
};
