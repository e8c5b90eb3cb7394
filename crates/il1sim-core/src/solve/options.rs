//! Solver settings: the integration method and the tolerances.

/// Integration method. BDF is the default (docs/solver.md has the accuracy study).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Bdf,
    Esdirk34,
    TrBdf2,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "bdf" => Some(Method::Bdf),
            "esdirk34" => Some(Method::Esdirk34),
            "tr_bdf2" | "trbdf2" => Some(Method::TrBdf2),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    pub method: Method,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance as a fraction of each state's scale (its untreated value, or the
    /// typical magnitude the model file declares for states that are zero untreated).
    pub atol: f64,
}

impl SolverOptions {
    /// Defaults chosen by the accuracy study in docs/solver.md.
    pub const DEFAULT: SolverOptions = SolverOptions {
        method: Method::Bdf,
        rtol: 1e-6,
        atol: 1e-6,
    };
    /// Tight settings used for references and for periodic steady-state Newton iterations.
    pub const TIGHT: SolverOptions = SolverOptions {
        method: Method::Bdf,
        rtol: 1e-10,
        atol: 1e-10,
    };
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions::DEFAULT
    }
}
