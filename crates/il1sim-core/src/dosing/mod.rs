//! Dosing (layer 2). Dose semantics, in one place: regimens (dose, route, interval, count or
//! last day, loading dose, missed, late and extra doses, stopping; `regimen`) expand into
//! [`schedule::DoseEvent`]s (`schedule`), and dose events become [`inputs::StateInput`]s
//! (depot boluses, IV boluses, infusion rate steps) with bioavailability and lag applied
//! (`inputs`). Everything that integrates uses these two functions. It may import the model
//! layer and the shared `error` and `time` modules.

pub mod inputs;
pub mod regimen;
pub mod schedule;
