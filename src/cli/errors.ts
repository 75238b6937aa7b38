/** tvisor's own errors: one line on stderr, exit status 125 (docker/podman convention). */
export const EXIT_TVISOR_ERROR = 125;

export function fatal(message: string): never {
  process.stderr.write(`tvisor: ${message}\n`);
  process.exit(EXIT_TVISOR_ERROR);
}
