//! Alarms both ways: vCalendar AALARM/DALARM/PALARM/MALARM and iCalendar VALARM.

use crate::pim::content::{Component, Param, Property};
use crate::pim::datetime::{self, DateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// AALARM / ACTION:AUDIO.
    Audio,
    /// DALARM / ACTION:DISPLAY.
    Display,
    /// PALARM / ACTION:PROCEDURE.
    Procedure,
    /// MALARM / ACTION:EMAIL.
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmTrigger {
    Absolute(DateTime),
    /// Seconds relative to the start (or the end/due when `from_end`).
    Relative {
        offset: i64,
        from_end: bool,
    },
}

/// An alarm in a form both vCalendar and iCalendar can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub trigger: AlarmTrigger,
    pub snooze: Option<i64>,
    pub repeat: Option<u32>,
    /// Sound, display text, procedure name or e-mail address.
    pub payload: Option<String>,
    /// Parameters of the payload (vCalendar `TYPE=X-EPOCSOUND`, FMTTYPE).
    pub payload_params: Vec<Param>,
    /// MALARM note / e-mail body.
    pub note: Option<String>,
}

impl Alarm {
    /// Reads AALARM/DALARM/PALARM/MALARM: `runtime;snooze;repeat;payload`.
    pub fn from_vcal(property: &Property) -> Option<Alarm> {
        let kind = match property.name.as_str() {
            "AALARM" => AlarmKind::Audio,
            "DALARM" => AlarmKind::Display,
            "PALARM" => AlarmKind::Procedure,
            "MALARM" => AlarmKind::Email,
            _ => return None,
        };
        let parts = property.components();
        let part = |i: usize| parts.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
        let time = DateTime::parse(part(0)?)?;
        Some(Alarm {
            kind,
            trigger: AlarmTrigger::Absolute(time),
            snooze: part(1).and_then(datetime::parse_duration),
            repeat: part(2).and_then(|r| r.parse().ok()).filter(|r| *r > 0),
            payload: part(3).map(str::to_string),
            payload_params: property.params.clone(),
            note: part(4).map(str::to_string),
        })
    }

    /// Reads a VALARM component.
    pub fn from_valarm(component: &Component) -> Option<Alarm> {
        let kind = match component.text_of("ACTION")?.to_ascii_uppercase().as_str() {
            "AUDIO" => AlarmKind::Audio,
            "DISPLAY" => AlarmKind::Display,
            "PROCEDURE" => AlarmKind::Procedure,
            "EMAIL" => AlarmKind::Email,
            _ => return None,
        };
        let trigger_property = component.property("TRIGGER")?;
        let trigger_text = trigger_property.text_value();
        let trigger = match DateTime::parse(&trigger_text) {
            Some(time) => AlarmTrigger::Absolute(time),
            None => AlarmTrigger::Relative {
                offset: datetime::parse_duration(&trigger_text)?,
                from_end: trigger_property
                    .param_value("RELATED")
                    .is_some_and(|r| r.eq_ignore_ascii_case("END")),
            },
        };
        let (payload, payload_params, note) = match kind {
            AlarmKind::Display => (component.text_of("DESCRIPTION"), Vec::new(), None),
            AlarmKind::Email => (
                component
                    .text_of("ATTENDEE")
                    .map(|a| a.trim_start_matches("mailto:").to_string()),
                Vec::new(),
                component.text_of("DESCRIPTION"),
            ),
            _ => match component.property("ATTACH") {
                Some(attach) => (Some(attach.text_value()), attach.params.clone(), None),
                None => (None, Vec::new(), None),
            },
        };
        Some(Alarm {
            kind,
            trigger,
            snooze: component
                .text_of("DURATION")
                .and_then(|d| datetime::parse_duration(&d)),
            repeat: component.text_of("REPEAT").and_then(|r| r.parse().ok()),
            payload,
            payload_params,
            note,
        })
    }

    /// When the alarm rings, given the item's start (or end for alarms
    /// relative to the end).
    pub fn absolute_time(&self, base: Option<DateTime>) -> Option<DateTime> {
        match &self.trigger {
            AlarmTrigger::Absolute(time) => Some(*time),
            AlarmTrigger::Relative { offset, .. } => base.map(|b| b.add_seconds(*offset)),
        }
    }

    pub fn to_valarm(&self) -> Component {
        let mut alarm = Component::new("VALARM");
        let action = match self.kind {
            AlarmKind::Audio => "AUDIO",
            AlarmKind::Display => "DISPLAY",
            AlarmKind::Procedure => "PROCEDURE",
            AlarmKind::Email => "EMAIL",
        };
        alarm.properties.push(Property::raw("ACTION", action));
        alarm.properties.push(match &self.trigger {
            AlarmTrigger::Absolute(time) => {
                Property::raw("TRIGGER", &time.basic()).with_param("VALUE", &["DATE-TIME"])
            }
            AlarmTrigger::Relative { offset, from_end } => {
                let trigger = Property::raw("TRIGGER", &datetime::format_duration(*offset));
                if *from_end {
                    trigger.with_param("RELATED", &["END"])
                } else {
                    trigger
                }
            }
        });
        if let Some(snooze) = self.snooze {
            alarm.properties.push(Property::raw(
                "DURATION",
                &datetime::format_duration(snooze),
            ));
        }
        if let Some(repeat) = self.repeat {
            alarm
                .properties
                .push(Property::raw("REPEAT", &repeat.to_string()));
        }
        match (self.kind, &self.payload) {
            (AlarmKind::Display, Some(text)) => {
                alarm.properties.push(Property::text("DESCRIPTION", text))
            }
            (AlarmKind::Email, Some(address)) => alarm
                .properties
                .push(Property::text("ATTENDEE", &format!("mailto:{address}"))),
            (_, Some(payload)) => {
                let mut attach = Property::text("ATTACH", payload);
                attach.params = self.payload_params.clone();
                alarm.properties.push(attach);
            }
            (_, None) => {}
        }
        if let Some(note) = &self.note {
            alarm.properties.push(Property::text("DESCRIPTION", note));
        }
        alarm
    }

    /// Writes the vCalendar property, the run time made absolute against
    /// `base` (start, or end/due for `from_end`). `None` when a relative
    /// alarm has no base time.
    pub fn to_vcal(&self, start: Option<DateTime>, end: Option<DateTime>) -> Option<Property> {
        let time = match &self.trigger {
            AlarmTrigger::Absolute(time) => *time,
            AlarmTrigger::Relative { offset, from_end } => {
                let base = if *from_end {
                    end.or(start)
                } else {
                    start.or(end)
                }?;
                base.add_seconds(*offset)
            }
        };
        let name = match self.kind {
            AlarmKind::Audio => "AALARM",
            AlarmKind::Display => "DALARM",
            AlarmKind::Procedure => "PALARM",
            AlarmKind::Email => "MALARM",
        };
        let mut parts = vec![
            time.basic(),
            self.snooze
                .map(datetime::format_duration)
                .unwrap_or_default(),
            self.repeat.map(|r| r.to_string()).unwrap_or_default(),
            self.payload
                .as_deref()
                .map(content_escape)
                .unwrap_or_default(),
        ];
        if let Some(note) = &self.note {
            parts.push(content_escape(note));
        }
        while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        let mut property = Property::raw(name, &parts.join(";"));
        property.params = self.payload_params.clone();
        Some(property)
    }
}

fn content_escape(text: &str) -> String {
    crate::pim::codec::escape_text(text)
}
