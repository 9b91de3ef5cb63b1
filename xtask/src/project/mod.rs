//! What the project is, as more than one stage needs to know it: the images the tree wants and
//! their size budget, the app's objects in the cluster (label, kinds, Secret, annotations,
//! Service lookup), the generated docs and their staleness, the app's HTTP API, port-forwards
//! to its Services and the AI provider. This floor sits below the stages and above `tools/`:
//! it may use `tools/`, `run/`, `config`, `ctx` and `ui`, never a stage.

pub mod ai;
pub mod api;
pub mod cluster;
pub mod doc_facts;
pub mod docs_gen;
pub mod forward;
pub mod http;
pub mod images;
pub mod objects;
pub mod pipeline;
