//! What staff may do to a request now, by the capacity they act in. This is the one answer the
//! back office's buttons and the aggregate's decisions share: a staff command comes wrapped in
//! `RequestCommand::AsStaff` with the capacity, and the aggregate refuses an action that
//! `Request::allowed_actions` does not list before it looks at anything else.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Request, RequestCommand, Status};

/// A staff action on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    TakeIntoEvaluation,
    AskForInformation,
    Answer,
    Forward,
    Redirect,
    TakeCharge,
    HandBack,
    Close,
    Reopen,
    SwitchContact,
    AddNote,
    RecordProtocol,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::TakeIntoEvaluation,
        Action::AskForInformation,
        Action::Answer,
        Action::Forward,
        Action::Redirect,
        Action::TakeCharge,
        Action::HandBack,
        Action::Close,
        Action::Reopen,
        Action::SwitchContact,
        Action::AddNote,
        Action::RecordProtocol,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::TakeIntoEvaluation => "take_into_evaluation",
            Action::AskForInformation => "ask_for_information",
            Action::Answer => "answer",
            Action::Forward => "forward",
            Action::Redirect => "redirect",
            Action::TakeCharge => "take_charge",
            Action::HandBack => "hand_back",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::SwitchContact => "switch_contact",
            Action::AddNote => "add_note",
            Action::RecordProtocol => "record_protocol",
        }
    }

    pub fn parse(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.code() == code)
    }
}

/// In what capacity someone acts: as the URP (its operators, managers, administrators), as a
/// referent of some departments, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub urp: bool,
    /// The departments whose referent they are.
    pub departments: Vec<Uuid>,
}

impl Capacity {
    pub fn urp() -> Capacity {
        Capacity {
            urp: true,
            departments: Vec::new(),
        }
    }

    pub fn referent_of(department: Uuid) -> Capacity {
        Capacity {
            urp: false,
            departments: vec![department],
        }
    }
}

impl Request {
    /// The actions someone acting in `capacity` may take now, in the order the page shows them.
    pub fn allowed_actions(&self, capacity: &Capacity) -> Vec<Action> {
        use Action as A;
        let status = self.status();
        if status == Status::New {
            return Vec::new();
        }
        let referent_here = self
            .department()
            .is_some_and(|department| capacity.departments.contains(&department));
        let mut actions = Vec::new();
        if capacity.urp {
            match status {
                Status::Received => actions.extend([
                    A::TakeIntoEvaluation,
                    A::AskForInformation,
                    A::Answer,
                    A::Forward,
                    A::Redirect,
                ]),
                Status::InEvaluation => {
                    actions.extend([A::AskForInformation, A::Answer, A::Forward, A::Redirect])
                }
                _ => {}
            }
        }
        if referent_here {
            match status {
                Status::Forwarded => actions.extend([A::TakeCharge, A::HandBack]),
                Status::TakenInCharge => {
                    actions.extend([A::AskForInformation, A::Answer, A::HandBack])
                }
                _ => {}
            }
        }
        if capacity.urp {
            actions.push(if status == Status::Closed {
                A::Reopen
            } else {
                A::Close
            });
            if status != Status::Closed {
                actions.push(A::SwitchContact);
            }
        }
        if capacity.urp || referent_here {
            actions.push(A::AddNote);
        }
        if capacity.urp && !self.is_protocolled() {
            actions.push(A::RecordProtocol);
        }
        actions
    }
}

impl RequestCommand {
    /// The staff action a command is, if it is one.
    pub fn action(&self) -> Option<Action> {
        use RequestCommand as C;
        Some(match self {
            C::TakeIntoEvaluation { .. } => Action::TakeIntoEvaluation,
            C::AskForInformation { .. } => Action::AskForInformation,
            C::Answer { .. } => Action::Answer,
            C::Forward { .. } => Action::Forward,
            C::Redirect { .. } => Action::Redirect,
            C::TakeCharge { .. } => Action::TakeCharge,
            C::HandBack { .. } => Action::HandBack,
            C::Close { .. } => Action::Close,
            C::Reopen { .. } => Action::Reopen,
            C::AddNote { .. } => Action::AddNote,
            C::RecordProtocol { .. } => Action::RecordProtocol,
            C::SwitchContact { .. } => Action::SwitchContact,
            C::AsStaff { command, .. } => return command.action(),
            _ => return None,
        })
    }
}
