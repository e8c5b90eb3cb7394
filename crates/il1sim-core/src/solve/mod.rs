//! Solving (layer 3): one subject's integration of a regimen. The options, the recorded
//! [`trajectory::Trajectory`] and its observers, the linear solver diffsol's BDF uses
//! (`kinetic_lu`), the untreated equilibrium (`equilibrium`), the [`subject::Subject`] and its
//! event-stopping BDF driver, the periodic steady state (`periodic`, above the subject it
//! integrates with), simulation from either start (`simulate`), and the fast method (`fast`).
//! It may import the model and dosing layers and the shared `error` and `time` modules.

pub mod batch;
pub mod equilibrium;
pub mod fast;
pub mod kinetic_lu;
pub mod options;
pub mod periodic;
pub mod rodas;
pub mod simulate;
pub mod subject;
pub mod trajectory;
