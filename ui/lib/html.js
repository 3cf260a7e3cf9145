// Preact + htm: components written as tagged templates, with no build step.
import { h, render, Fragment, createContext } from "preact";
import {
  useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback, useContext, useReducer,
} from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);
export {
  h, render, Fragment, createContext,
  useState, useEffect, useLayoutEffect, useRef, useMemo, useCallback, useContext, useReducer,
};
