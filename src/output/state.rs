//! What a run concludes: OK, WARNING, CRITICAL or UNKNOWN, with the exit
//! code and the label the plugin protocol gives each. The one meaning of
//! "state" in this crate (the file of earlier runs is the history).

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    #[default]
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        match text.to_ascii_lowercase().as_str() {
            "ok" | "0" => Some(State::Ok),
            "warning" | "1" => Some(State::Warning),
            "critical" | "2" => Some(State::Critical),
            "unknown" | "3" => Some(State::Unknown),
            _ => None,
        }
    }
}
