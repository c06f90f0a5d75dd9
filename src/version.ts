/** The deployed version, reported by /health so operators can tell which build answered. */
export const VERSION = "0.1.0";
