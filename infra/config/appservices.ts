/**
 * `app_service_config_files` (Synapse's key): the application services (bridges) this server
 * serves, one registration YAML file each (domain/appservices parses them). A file that cannot be
 * read, is not YAML or has a bad field, and ids or tokens used twice, stop start-up with one line
 * naming the file and the field.
 */
import { Schema } from 'effect';
import { parse as parseYaml } from 'yaml';
import { checkRegistrations, parseRegistration, RegistrationProblem, type AppserviceRegistration } from '../../domain/index.ts';

export const AppserviceFilesKeys = {
  app_service_config_files: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.makeFilter((s: string) =>
    (s.trim() === '' ? 'must not be empty' : undefined))))),
};

/** Reads and checks every registration file, in the order listed. Throws `fail(message)`'s error. */
export const appserviceRegistrations = (
  files: readonly string[] | undefined, serverName: string, readFile: (path: string) => string, fail: (message: string) => Error,
): AppserviceRegistration[] => {
  const registrations = (files ?? []).map((path, index) => {
    const key = `app_service_config_files[${index}]`;
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      throw fail(`invalid config: ${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw fail(`invalid config: ${key}: ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
    }
    try {
      return parseRegistration(raw, serverName, path);
    } catch (error) {
      if (error instanceof RegistrationProblem) throw fail(`invalid config: ${key}: ${error.message}`);
      throw error;
    }
  });
  try {
    checkRegistrations(registrations);
  } catch (error) {
    if (error instanceof RegistrationProblem) throw fail(`invalid config: app_service_config_files: ${error.message}`);
    throw error;
  }
  return registrations;
};
