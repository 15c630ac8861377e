//! The panel's own subscriptions: per subscribed key, the payloads that did not reach the panel. Refused ones
//! (undecodable: garbage, another message type or schema; or over the key's size limit, `bus::qos`) are
//! highlighted in red, since something on the bus speaks another language or is hostile; queue drops (the panel
//! did not keep up) and sequence gaps (lost on the way) in amber, since load causes them. Zero is grey.

use super::style::{BAD, MUTED, WARN, count, section};
use crate::state::PanelState;
use bus::SubscriberCounts;
use egui::{Color32, Grid, RichText, Ui, WidgetInfo, WidgetType};

/// Title of the section (tests find it by it).
pub const SECTION: &str = "Bus";

/// One counter of a subscription, a column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Payloads that failed to decode.
    DecodeErrors,
    /// Payloads over the key's limit, refused before decoding.
    Oversize,
    /// Messages dropped because the panel's queue was full.
    QueueDrops,
    /// Messages missing from the publishers' sequence numbers.
    SeqGaps,
}

impl Counter {
    /// Every column, in table order.
    pub const ALL: [Counter; 4] = [Counter::DecodeErrors, Counter::Oversize, Counter::QueueDrops, Counter::SeqGaps];

    /// Column title.
    pub fn title(self) -> &'static str {
        match self {
            Counter::DecodeErrors => "decode",
            Counter::Oversize => "oversize",
            Counter::QueueDrops => "dropped",
            Counter::SeqGaps => "gaps",
        }
    }

    /// What it counts, in the accessible label of each count.
    pub fn name(self) -> &'static str {
        match self {
            Counter::DecodeErrors => "decode errors",
            Counter::Oversize => "oversize",
            Counter::QueueDrops => "queue drops",
            Counter::SeqGaps => "sequence gaps",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Counter::DecodeErrors => "payloads refused as undecodable: garbage, another message type or schema version",
            Counter::Oversize => "payloads refused unread: larger than the key's limit (bus::qos)",
            Counter::QueueDrops => "messages dropped because the panel did not keep up (its queue was full)",
            Counter::SeqGaps => "messages missing from the publishers' sequence numbers (lost on the way)",
        }
    }

    /// The counter's value in `c`.
    pub fn of(self, c: &SubscriberCounts) -> u64 {
        match self {
            Counter::DecodeErrors => c.decode_errors,
            Counter::Oversize => c.oversize,
            Counter::QueueDrops => c.queue_drops,
            Counter::SeqGaps => c.seq_gaps,
        }
    }

    /// Colour of a count: grey at zero, red for refused payloads, amber for drops and gaps.
    pub fn colour(self, n: u64) -> Color32 {
        match (n, self) {
            (0, _) => MUTED,
            (_, Counter::DecodeErrors | Counter::Oversize) => BAD,
            (_, Counter::QueueDrops | Counter::SeqGaps) => WARN,
        }
    }
}

/// Accessible label of one count (what a screen reader says, and how tests find it):
/// `controller/arm_state decode errors: 1`.
pub fn count_label(key: &str, counter: Counter, n: u64) -> String {
    format!("{key} {}: {n}", counter.name())
}

pub(super) fn show(state: &PanelState, ui: &mut Ui) {
    section(ui, SECTION);
    ui.label(RichText::new("payloads that did not reach the panel, per subscription").color(MUTED).small());
    if state.subscriptions.is_empty() {
        ui.label(RichText::new("not on a bus").color(MUTED));
        return;
    }
    Grid::new("bus_counters").striped(true).num_columns(1 + Counter::ALL.len()).show(ui, |ui| {
        ui.label(RichText::new("key").small().color(MUTED));
        for c in Counter::ALL {
            ui.label(RichText::new(c.title()).small().color(MUTED)).on_hover_text(c.description());
        }
        ui.end_row();
        for (key, counts) in &state.subscriptions {
            ui.label(RichText::new(key).monospace().small());
            for c in Counter::ALL {
                let n = c.of(counts);
                let text = RichText::new(count(n)).monospace().color(c.colour(n));
                let shown = ui.label(if n > 0 { text.strong() } else { text }).on_hover_text(c.description());
                shown.widget_info(|| WidgetInfo::labeled(WidgetType::Label, true, count_label(key, c, n)));
            }
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_zero_counts_are_highlighted() {
        let c = SubscriberCounts { decode_errors: 2, oversize: 0, queue_drops: 5, seq_gaps: 0, received: 9 };
        let colours: Vec<Color32> = Counter::ALL.iter().map(|k| k.colour(k.of(&c))).collect();
        assert_eq!(colours, [BAD, MUTED, WARN, MUTED]);
        assert_eq!(Counter::Oversize.colour(1), BAD);
        assert_eq!(Counter::SeqGaps.colour(1), WARN);
        assert_eq!(count_label("camera/*/frame", Counter::QueueDrops, 5), "camera/*/frame queue drops: 5");
    }
}
