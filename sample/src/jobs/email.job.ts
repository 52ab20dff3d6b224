/** What the queue carries: an email to send, taking `ms` of database time. */
export interface EmailJob {
  to: string;
  ms: number;
}

export const EMAIL_QUEUE = 'emails';
