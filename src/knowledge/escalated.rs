//! The `#kb` scan of tickets handed over to people: they left the bot's view, so the poll never
//! reads them, yet that is where agents answer what the bot could not. The daemon lists them
//! (one view query, [`escalated_filter`]); this reads the changed ones in full and learns their
//! notes, remembering what it read so an unchanged ticket is not read again.

use super::LiveKb;
use crate::clock::Clock;
use crate::gorgias::{Client, Ticket};
use crate::ledger::{Ledger, LedgerError};
use crate::responder::Responder;
use tokio_util::sync::CancellationToken;

/// How many handed-over tickets one scan reads in full: a long human queue (read whole after a
/// restart) must not hold the worker, and the API budget, away from the bot's own tickets.
pub const ESCALATED_READS_PER_SCAN: usize = 10;

/// The view filter of the handed-over tickets: open, carrying an escalation tag.
pub fn escalated_filter(tags: &crate::config::Tags) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    format!(
        "eq(ticket.status, 'open') && containsAny(ticket.tags.name, [{}, {}])",
        quote(&tags.agent_required),
        quote(&tags.agent_check)
    )
}

impl LiveKb {
    /// Of the `listed` handed-over tickets, reads in full those that changed since the last
    /// scan (at most [`ESCALATED_READS_PER_SCAN`], in the listing's order: most recently
    /// updated first; the rest wait for the next scan) and learns their `#kb` notes. Tickets
    /// assigned to the bot are skipped (the poll reads them). A ticket that cannot be read is
    /// logged and tried again next scan; only a ledger failure is returned. Returns the number
    /// of tickets read.
    #[allow(clippy::too_many_arguments)]
    pub async fn learn_from_escalated(
        &self,
        listed: &[Ticket],
        client: &Client,
        bot_user_id: u64,
        ledger: &Ledger,
        responder: &dyn Responder,
        clock: &dyn Clock,
        cancel: &CancellationToken,
    ) -> Result<usize, LedgerError> {
        let mut read = 0;
        for t in listed {
            if cancel.is_cancelled() || read >= ESCALATED_READS_PER_SCAN {
                break;
            }
            if t.is_assigned_to(bot_user_id) || !self.escalated_changed(t.id, t.updated_datetime) {
                continue;
            }
            match client.ticket(t.id).await {
                Ok(full) => {
                    self.learn_from(&full, bot_user_id, ledger, responder, clock.now())
                        .await?;
                    self.escalated_read(t.id, t.updated_datetime);
                    read += 1;
                }
                Err(e) => {
                    tracing::warn!(ticket_id = t.id, error = %e, "cannot read a handed-over ticket for #kb notes; will try again");
                }
            }
        }
        let ids: Vec<u64> = listed.iter().map(|t| t.id).collect();
        self.escalated_keep_only(&ids);
        Ok(read)
    }
}
