// Stores reach components through one context; components read them with `useApp`.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { AppStores } from '../stores/app-stores.js';

/** The stores, and how the page reaches the engine. */
export interface AppContextValue {
  stores: AppStores;
  mode: 'electron' | 'browser';
  /** A dropped file's path (Electron only). */
  pathForFile: ((f: File) => string) | undefined;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

/** The app context (stores, mode). */
export function useAppContext(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error('AppContext missing');
  return v;
}

/** Select from one store, re-rendering only when the selection changes. */
export function useApp<S, T>(pick: (s: AppStores) => StoreApi<S>, select: (state: S) => T): T {
  return useStore(pick(useAppContext().stores), select);
}
