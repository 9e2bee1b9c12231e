/**
 * Everything `main.ts` builds: the platform plus the stores the capabilities own. Each capability
 * declares the part it needs (EvidenceServices, ApprovalServices…); this is what satisfies them
 * all, and what `start()` hands back to tests and the sandbox. Nothing under capabilities/ or
 * platform/ imports this file.
 */
import type { EvidenceServices } from './capabilities/evidence';


export type Services = EvidenceServices;
