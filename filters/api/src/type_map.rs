//! A map from type to one value of that type, for a request's context: a handful of entries, so a
//! list searched in order beats a hash map (no hashing, no table to grow per request).

use std::any::{Any, TypeId};

/// A value the map can hold: any `Clone + Send + Sync` type.
trait Entry: Any + Send + Sync {
    fn clone_entry(&self) -> Box<dyn Entry>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Clone + Send + Sync + 'static> Entry for T {
    fn clone_entry(&self) -> Box<dyn Entry> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Room for what the proxy attaches to every request and what a chain of filters adds, before
/// the list grows.
const USUAL_ENTRIES: usize = 12;

#[derive(Default)]
pub(crate) struct TypeMap(Vec<(TypeId, Box<dyn Entry>)>);

impl TypeMap {
    fn position<T: 'static>(&self) -> Option<usize> {
        let id = TypeId::of::<T>();
        self.0.iter().position(|(key, _)| *key == id)
    }

    /// Attaches `value`, returning the one of its type it replaces.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        match self.position::<T>() {
            Some(index) => {
                let slot = self.0.get_mut(index)?;
                let previous = std::mem::replace(&mut slot.1, Box::new(value));
                previous.into_any().downcast::<T>().ok().map(|boxed| *boxed)
            }
            None => {
                if self.0.capacity() == 0 {
                    self.0.reserve_exact(USUAL_ENTRIES);
                }
                self.0.push((TypeId::of::<T>(), Box::new(value)));
                None
            }
        }
    }

    pub fn get<T: 'static>(&self) -> Option<&T> {
        let index = self.position::<T>()?;
        (*self.0.get(index)?.1).as_any().downcast_ref()
    }

    pub fn get_mut<T: 'static>(&mut self) -> Option<&mut T> {
        let index = self.position::<T>()?;
        (*self.0.get_mut(index)?.1).as_any_mut().downcast_mut()
    }

    pub fn remove<T: 'static>(&mut self) -> Option<T> {
        let index = self.position::<T>()?;
        let (_, entry) = self.0.swap_remove(index);
        entry.into_any().downcast::<T>().ok().map(|boxed| *boxed)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Clone for TypeMap {
    fn clone(&self) -> TypeMap {
        TypeMap(
            self.0
                .iter()
                .map(|(id, entry)| (*id, (**entry).clone_entry()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Partner(&'static str);

    #[test]
    fn one_value_per_type() {
        let mut map = TypeMap::default();
        assert_eq!(map.insert(Partner("acme")), None);
        assert_eq!(map.insert(7u64), None);
        assert_eq!(map.insert(Partner("globex")), Some(Partner("acme")));
        assert_eq!(map.get::<Partner>(), Some(&Partner("globex")));
        if let Some(count) = map.get_mut::<u64>() {
            *count += 1;
        }
        assert_eq!(map.get::<u64>(), Some(&8));
        let copy = map.clone();
        assert_eq!(map.remove::<Partner>(), Some(Partner("globex")));
        assert_eq!(map.get::<Partner>(), None);
        assert_eq!(copy.get::<Partner>(), Some(&Partner("globex")));
        assert_eq!((map.len(), copy.len()), (1, 2));
    }
}
